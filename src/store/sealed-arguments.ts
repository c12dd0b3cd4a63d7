import type { SqlClient } from "./store.ts";

/** One call's original arguments, encrypted, found by the run and the argument hash the journal keeps. */
export type SealedArgumentsRow = {
  runId: string;
  argumentsHash: string;
  keyId: string;
  nonce: string;
  ciphertext: string;
};

/** Where the runtime keeps the encrypted originals of arguments it journaled redacted (migration 0010). */
export type SealedArgumentsStore = {
  put(rows: readonly SealedArgumentsRow[]): Promise<void>;
  read(runId: string): Promise<SealedArgumentsRow[]>;
  /** Forget a run's originals once nothing can act on them any more (the run ended). */
  drop(runId: string): Promise<void>;
};

/** The SQL implementation over the store's own database (PGlite or PostgreSQL). */
export function createSqlSealedArgumentsStore(sql: SqlClient): SealedArgumentsStore {
  return {
    async put(rows) {
      if (rows.length === 0) return;
      await sql.query(
        `INSERT INTO keel_sealed_arguments (run_id, arguments_hash, key_id, nonce, ciphertext)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
         ON CONFLICT (run_id, arguments_hash) DO UPDATE
           SET key_id = excluded.key_id, nonce = excluded.nonce, ciphertext = excluded.ciphertext`,
        [
          rows.map((row) => row.runId),
          rows.map((row) => row.argumentsHash),
          rows.map((row) => row.keyId),
          rows.map((row) => row.nonce),
          rows.map((row) => row.ciphertext),
        ],
      );
    },
    async read(runId) {
      const { rows } = await sql.query<{
        arguments_hash: string;
        key_id: string;
        nonce: string;
        ciphertext: string;
      }>("SELECT arguments_hash, key_id, nonce, ciphertext FROM keel_sealed_arguments WHERE run_id = $1", [
        runId,
      ]);
      return rows.map((row) => ({
        runId,
        argumentsHash: row.arguments_hash,
        keyId: row.key_id,
        nonce: row.nonce,
        ciphertext: row.ciphertext,
      }));
    },
    async drop(runId) {
      await sql.query("DELETE FROM keel_sealed_arguments WHERE run_id = $1", [runId]);
    },
  };
}
