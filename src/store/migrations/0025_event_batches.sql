-- One row per append instead of one per event. An append of eight events (a read-only step: its model turn, the
-- decisions, the call and its result) was eight heap tuples, eight primary-key entries and eight foreign-key
-- checks; it is now one of each. Each event keeps everything it had: its type, its payload as the canonical JSON
-- text that was hashed, and its three hashes (each 32 bytes, at the event's place in the batch). `keel_events`
-- becomes a view that unfolds the batches back into one row per event, so every reader sees the same rows as before;
-- a reader that reads a few events of a long run also bounds `batch_first_seq`, so only their batches are unfolded.
CREATE TABLE keel_event_batches (
  run_id text NOT NULL REFERENCES keel_runs (run_id),
  first_seq integer NOT NULL CHECK (first_seq > 0),
  -- The events' types in seq order: the batch holds cardinality(types) events.
  types text[] NOT NULL,
  -- Events written in one append share their time and schema version; an append that mixes versions is split.
  at timestamptz NOT NULL,
  schema_version integer NOT NULL,
  -- A JSON array of the events' payloads, each element the exact canonical text its payload hash was taken of.
  payloads text NOT NULL,
  payload_hashes bytea NOT NULL,
  -- The first event's link to the event before it; each later event's is the hash of the one before it.
  prev_hash bytea NOT NULL,
  hashes bytea NOT NULL,
  lease_token bigint NOT NULL,
  PRIMARY KEY (run_id, first_seq),
  CHECK (cardinality(types) > 0 AND octet_length(hashes) = 32 * cardinality(types)
         AND octet_length(payload_hashes) = octet_length(hashes) AND octet_length(prev_hash) = 32)
);

INSERT INTO keel_event_batches
  (run_id, first_seq, types, at, schema_version, payloads, payload_hashes, prev_hash, hashes, lease_token)
SELECT run_id, seq, ARRAY[type], at, schema_version, '[' || payload || ']', payload_hash, prev_hash, hash, lease_token
  FROM keel_events;

DROP TABLE keel_events;

CREATE VIEW keel_events AS
SELECT b.run_id,
       b.first_seq + e.position::integer - 1 AS seq,
       b.types[e.position] AS type,
       b.at,
       e.payload::text AS payload,
       b.schema_version,
       substring(b.payload_hashes FROM (e.position::integer - 1) * 32 + 1 FOR 32) AS payload_hash,
       CASE WHEN e.position = 1 THEN b.prev_hash
            ELSE substring(b.hashes FROM (e.position::integer - 2) * 32 + 1 FOR 32) END AS prev_hash,
       substring(b.hashes FROM (e.position::integer - 1) * 32 + 1 FOR 32) AS hash,
       b.lease_token,
       -- The batch's own first seq: a reader that names the batches it needs (by this column) reads only those.
       b.first_seq AS batch_first_seq
  FROM keel_event_batches AS b
 CROSS JOIN LATERAL json_array_elements(b.payloads::json) WITH ORDINALITY AS e(payload, position);
