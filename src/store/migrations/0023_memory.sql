-- Long-term memory and knowledge bases: what an agent remembers for a user (or for itself), and the chunks of the
-- documents `keel kb ingest` loads. Every read and write names the tenant, so no tenant ever sees another's rows.
--
-- Full-text search uses a stored tsvector (english) with a GIN index. Embeddings, when an embedding model is
-- configured, are kept here as float4 arrays with the model that made them; the nearest-neighbour index over them
-- is built in process (this works the same on PGlite and on a PostgreSQL without pgvector).

CREATE TABLE keel_memories (
  memory_id text PRIMARY KEY,
  tenant text NOT NULL,
  agent text NOT NULL,
  -- The person the memory is about (the run's principal); NULL for what the agent keeps for every user.
  subject text,
  text text NOT NULL,
  data_classes text[] NOT NULL,
  -- Where it came from: `run:<id>` for a `remember` call, or what an operator wrote it with.
  source text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- From the agent's retention policy; an expired memory is never returned and the sweep deletes it.
  expires_at timestamptz,
  embedding real[],
  embedding_model text,
  search tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED
);

CREATE INDEX keel_memories_scope_idx ON keel_memories (tenant, agent, subject, updated_at);
CREATE INDEX keel_memories_search_idx ON keel_memories USING gin (search);
CREATE INDEX keel_memories_expires_at_idx ON keel_memories (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE keel_kb_chunks (
  tenant text NOT NULL,
  kb text NOT NULL,
  -- The file's path relative to the ingested directory, and the chunk's place in it.
  source text NOT NULL,
  chunk_index integer NOT NULL CHECK (chunk_index >= 0),
  heading text,
  text text NOT NULL,
  -- SHA-256 of the whole source file: a re-ingest skips a file whose hash is unchanged.
  file_hash text NOT NULL,
  updated_at timestamptz NOT NULL,
  -- The declared freshness: after this the chunk is stale (still returned, flagged and counted).
  fresh_until timestamptz,
  ingested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  embedding real[],
  embedding_model text,
  search tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(heading, '') || ' ' || text)) STORED,
  PRIMARY KEY (tenant, kb, source, chunk_index)
);

CREATE INDEX keel_kb_chunks_search_idx ON keel_kb_chunks USING gin (search);
