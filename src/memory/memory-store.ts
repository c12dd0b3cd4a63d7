import { randomUUID } from "node:crypto";
import type { SqlClient } from "../store/index.ts";

/** Whose memories: a tenant's agent, for one person (`subject`) or for every user of the agent (null). */
export type MemoryScope = { tenant: string; agent: string; subject: string | null };

/** One stored memory as it is read back. */
export type MemoryRecord = {
  id: string;
  tenant: string;
  agent: string;
  subject: string | null;
  text: string;
  dataClasses: string[];
  source: string;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date | null;
};

/** One chunk of a knowledge-base document. */
export type KbChunk = {
  tenant: string;
  kb: string;
  source: string;
  chunkIndex: number;
  heading: string | null;
  text: string;
  updatedAt: Date;
  freshUntil: Date | null;
};

/** A full-text hit: the row, and its `ts_rank`. */
export type Ranked<T> = { item: T; rank: number };

/** A stored embedding, by the key of its row. */
export type StoredVector<Key> = { key: Key; vector: Float32Array };

export type NewMemory = {
  /** Given by a caller that must write it at most once (a tool call's idempotency key); else a new id. */
  id?: string;
  scope: MemoryScope;
  text: string;
  dataClasses: readonly string[];
  source: string;
  expiresAt: Date | null;
  embedding?: { model: string; vector: Float32Array };
};

export type NewKbChunk = { heading: string | null; text: string; embedding?: Float32Array };

/** What a re-ingest did with one file. */
export type KbFileOutcome = "added" | "replaced" | "unchanged";

type MemoryRow = {
  memory_id: string;
  tenant: string;
  agent: string;
  subject: string | null;
  text: string;
  data_classes: string[];
  source: string;
  created_at: Date | string;
  updated_at: Date | string;
  expires_at: Date | string | null;
};

type ChunkRow = {
  tenant: string;
  kb: string;
  source: string;
  chunk_index: number;
  heading: string | null;
  text: string;
  updated_at: Date | string;
  fresh_until: Date | string | null;
};

const MEMORY_COLUMNS =
  "memory_id, tenant, agent, subject, text, data_classes, source, created_at, updated_at, expires_at";
const CHUNK_COLUMNS = "tenant, kb, source, chunk_index, heading, text, updated_at, fresh_until";

/** In scope for a recall: the tenant's agent, the person's own memories and the agent's shared ones, unexpired. */
const MEMORY_SCOPE = `tenant = $1 AND agent = $2 AND (subject IS NULL OR subject = $3)
  AND (expires_at IS NULL OR expires_at > $4)`;

/**
 * The query as the OR of its English lexemes (`to_tsquery('simple', …)` over stemmed words), or NULL when every
 * word is a stop word: a question in full sentences rarely has all its words in one passage.
 */
const ANY_WORD_QUERY = `(SELECT to_tsquery('simple', string_agg(quote_literal(lexeme), ' | '))
  FROM unnest(tsvector_to_array(to_tsvector('english', $QUERY))) AS lexeme)`;

/**
 * Long-term memory and knowledge-base rows, in SQL that PGlite and PostgreSQL both run. Every statement names the
 * tenant: there is no read or write that could reach another tenant's rows.
 */
export class MemoryStore {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  async insertMemory(memory: NewMemory): Promise<MemoryRecord> {
    const { rows } = await this.#sql.query<MemoryRow>(
      `INSERT INTO keel_memories (memory_id, tenant, agent, subject, text, data_classes, source, expires_at,
         embedding, embedding_model)
       VALUES ($1, $2, $3, $4, $5, $6::text[], $7, $8, $9::real[], $10)
       ON CONFLICT (memory_id) DO NOTHING
       RETURNING ${MEMORY_COLUMNS}`,
      [
        memory.id ?? `mem_${randomUUID()}`,
        memory.scope.tenant,
        memory.scope.agent,
        memory.scope.subject,
        memory.text,
        [...memory.dataClasses],
        memory.source,
        memory.expiresAt,
        memory.embedding ? [...memory.embedding.vector] : null,
        memory.embedding?.model ?? null,
      ],
    );
    if (rows[0]) return toMemory(rows[0]);
    // Written before under this id (a retried call): that memory, if it is this tenant's.
    const existing = await this.getMemory(memory.scope.tenant, memory.id!);
    if (!existing) throw new Error(`memory ${memory.id} belongs to another tenant`);
    return existing;
  }

  /** One memory of the tenant by id, expired or not; null when the tenant has none by that id. */
  async getMemory(tenant: string, id: string): Promise<MemoryRecord | null> {
    const { rows } = await this.#sql.query<MemoryRow>(
      `SELECT ${MEMORY_COLUMNS} FROM keel_memories WHERE tenant = $1 AND memory_id = $2`,
      [tenant, id],
    );
    return rows[0] ? toMemory(rows[0]) : null;
  }

  /** The tenant and the person a run acts for, from its row: whose memories its tools read and write. */
  async runPrincipal(runId: string): Promise<{ tenant: string; subject: string } | null> {
    const { rows } = await this.#sql.query<{ tenant: string; subject: string | null }>(
      "SELECT tenant, principal ->> 'subject' AS subject FROM keel_runs WHERE run_id = $1",
      [runId],
    );
    const row = rows[0];
    return row ? { tenant: row.tenant, subject: row.subject ?? "anonymous" } : null;
  }

  /** Memories in scope and unexpired at `now`, newest first. */
  async listMemories(scope: MemoryScope, now: Date, limit = 100): Promise<MemoryRecord[]> {
    const { rows } = await this.#sql.query<MemoryRow>(
      `SELECT ${MEMORY_COLUMNS} FROM keel_memories WHERE ${MEMORY_SCOPE}
       ORDER BY updated_at DESC, memory_id LIMIT $5`,
      [scope.tenant, scope.agent, scope.subject, now, limit],
    );
    return rows.map(toMemory);
  }

  /** Full-text search of the memories in scope, best `ts_rank` first. */
  async searchMemories(
    scope: MemoryScope,
    query: string,
    now: Date,
    limit: number,
  ): Promise<Ranked<MemoryRecord>[]> {
    const { rows } = await this.#sql.query<MemoryRow & { rank: number }>(
      `SELECT ${MEMORY_COLUMNS}, ts_rank(search, query) AS rank
       FROM keel_memories, ${ANY_WORD_QUERY.replace("$QUERY", "$5")} AS q(query)
       WHERE query IS NOT NULL AND search @@ query AND ${MEMORY_SCOPE}
       ORDER BY rank DESC, updated_at DESC, memory_id LIMIT $6`,
      [scope.tenant, scope.agent, scope.subject, now, query, limit],
    );
    return rows.map((row) => ({ item: toMemory(row), rank: Number(row.rank) }));
  }

  /** The embeddings of the memories in scope made by `model`, with each memory. */
  async memoryVectors(scope: MemoryScope, model: string, now: Date): Promise<StoredVector<MemoryRecord>[]> {
    const { rows } = await this.#sql.query<MemoryRow & { embedding: number[] }>(
      `SELECT ${MEMORY_COLUMNS}, embedding FROM keel_memories
       WHERE ${MEMORY_SCOPE} AND embedding_model = $5 AND embedding IS NOT NULL`,
      [scope.tenant, scope.agent, scope.subject, now, model],
    );
    return rows.map((row) => ({ key: toMemory(row), vector: Float32Array.from(row.embedding) }));
  }

  /** Delete one memory of the tenant; false when it has none by that id. */
  async deleteMemory(tenant: string, id: string): Promise<boolean> {
    const { rows } = await this.#sql.query(
      "DELETE FROM keel_memories WHERE tenant = $1 AND memory_id = $2 RETURNING memory_id",
      [tenant, id],
    );
    return rows.length > 0;
  }

  /** Delete every memory that expired at or before `now`, across tenants (the retention sweep); how many. */
  async sweepExpired(now: Date): Promise<number> {
    const { rows } = await this.#sql.query(
      "DELETE FROM keel_memories WHERE expires_at IS NOT NULL AND expires_at <= $1 RETURNING memory_id",
      [now],
    );
    return rows.length;
  }

  /** Each source file of a knowledge base with the hash it was ingested with. */
  async kbFileHashes(tenant: string, kb: string): Promise<Map<string, string>> {
    const { rows } = await this.#sql.query<{ source: string; file_hash: string }>(
      "SELECT DISTINCT source, file_hash FROM keel_kb_chunks WHERE tenant = $1 AND kb = $2",
      [tenant, kb],
    );
    return new Map(rows.map((row) => [row.source, row.file_hash]));
  }

  /**
   * Put one file's chunks in place of what the knowledge base held for it, in one transaction; nothing is written
   * when the file's hash is the one already stored.
   */
  async replaceKbFile(file: {
    tenant: string;
    kb: string;
    source: string;
    fileHash: string;
    updatedAt: Date;
    freshUntil: Date | null;
    embeddingModel: string | null;
    chunks: readonly NewKbChunk[];
  }): Promise<KbFileOutcome> {
    return await this.#sql.transaction(async (sql) => {
      // Two ingests of the same file at once (two processes starting) take turns instead of colliding.
      await sql.query("SELECT pg_advisory_xact_lock(hashtext($1))", [
        `keel:kb:${file.tenant}/${file.kb}/${file.source}`,
      ]);
      const { rows } = await sql.query<{ file_hash: string }>(
        "SELECT file_hash FROM keel_kb_chunks WHERE tenant = $1 AND kb = $2 AND source = $3 LIMIT 1",
        [file.tenant, file.kb, file.source],
      );
      if (rows[0]?.file_hash === file.fileHash) return "unchanged";
      await sql.query("DELETE FROM keel_kb_chunks WHERE tenant = $1 AND kb = $2 AND source = $3", [
        file.tenant,
        file.kb,
        file.source,
      ]);
      for (const [index, chunk] of file.chunks.entries()) {
        await sql.query(
          `INSERT INTO keel_kb_chunks (tenant, kb, source, chunk_index, heading, text, file_hash, updated_at,
             fresh_until, embedding, embedding_model)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::real[], $11)`,
          [
            file.tenant,
            file.kb,
            file.source,
            index,
            chunk.heading,
            chunk.text,
            file.fileHash,
            file.updatedAt,
            file.freshUntil,
            chunk.embedding ? [...chunk.embedding] : null,
            chunk.embedding ? file.embeddingModel : null,
          ],
        );
      }
      return rows.length === 0 ? "added" : "replaced";
    });
  }

  /** Remove the chunks of files no longer in the ingested directory. */
  async deleteKbSources(tenant: string, kb: string, sources: readonly string[]): Promise<void> {
    if (sources.length === 0) return;
    await this.#sql.query(
      "DELETE FROM keel_kb_chunks WHERE tenant = $1 AND kb = $2 AND source = ANY($3::text[])",
      [tenant, kb, [...sources]],
    );
  }

  /** Full-text search of one knowledge base, best `ts_rank` first. */
  async searchKb(tenant: string, kb: string, query: string, limit: number): Promise<Ranked<KbChunk>[]> {
    const { rows } = await this.#sql.query<ChunkRow & { rank: number }>(
      `SELECT ${CHUNK_COLUMNS}, ts_rank(search, query) AS rank
       FROM keel_kb_chunks, ${ANY_WORD_QUERY.replace("$QUERY", "$3")} AS q(query)
       WHERE query IS NOT NULL AND search @@ query AND tenant = $1 AND kb = $2
       ORDER BY rank DESC, source, chunk_index LIMIT $4`,
      [tenant, kb, query, limit],
    );
    return rows.map((row) => ({ item: toChunk(row), rank: Number(row.rank) }));
  }

  /** Every chunk of a knowledge base, in source order. */
  async listKbChunks(tenant: string, kb: string): Promise<KbChunk[]> {
    const { rows } = await this.#sql.query<ChunkRow>(
      `SELECT ${CHUNK_COLUMNS} FROM keel_kb_chunks WHERE tenant = $1 AND kb = $2 ORDER BY source, chunk_index`,
      [tenant, kb],
    );
    return rows.map(toChunk);
  }

  /** The chunks of a knowledge base with an embedding by `model`, with their vectors. */
  async kbVectors(tenant: string, kb: string, model: string): Promise<StoredVector<KbChunk>[]> {
    const { rows } = await this.#sql.query<ChunkRow & { embedding: number[] }>(
      `SELECT ${CHUNK_COLUMNS}, embedding FROM keel_kb_chunks
       WHERE tenant = $1 AND kb = $2 AND embedding_model = $3 AND embedding IS NOT NULL
       ORDER BY source, chunk_index`,
      [tenant, kb, model],
    );
    return rows.map((row) => ({ key: toChunk(row), vector: Float32Array.from(row.embedding) }));
  }

  /** What changes whenever a knowledge base's chunks do: a cached vector index is rebuilt when it differs. */
  async kbVersion(tenant: string, kb: string): Promise<string> {
    const { rows } = await this.#sql.query<{ chunks: number | string; latest: Date | string | null }>(
      "SELECT count(*) AS chunks, max(ingested_at) AS latest FROM keel_kb_chunks WHERE tenant = $1 AND kb = $2",
      [tenant, kb],
    );
    const row = rows[0]!;
    return `${row.chunks}@${row.latest === null ? "" : new Date(row.latest).toISOString()}`;
  }
}

function toMemory(row: MemoryRow): MemoryRecord {
  return {
    id: row.memory_id,
    tenant: row.tenant,
    agent: row.agent,
    subject: row.subject,
    text: row.text,
    dataClasses: row.data_classes,
    source: row.source,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
  };
}

function toChunk(row: ChunkRow): KbChunk {
  return {
    tenant: row.tenant,
    kb: row.kb,
    source: row.source,
    chunkIndex: Number(row.chunk_index),
    heading: row.heading,
    text: row.text,
    updatedAt: new Date(row.updated_at),
    freshUntil: row.fresh_until === null ? null : new Date(row.fresh_until),
  };
}
