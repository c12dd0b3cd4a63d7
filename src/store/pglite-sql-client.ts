import type { PGlite, Transaction } from "@electric-sql/pglite";
import type { SqlClient } from "./store.ts";

/** A SqlClient over a PGlite instance (or one of its transactions). */
export function pgliteSqlClient(db: PGlite | Transaction): SqlClient {
  return {
    kind: "pglite",
    async query<Row>(sql: string, params: unknown[] = []) {
      const result = await db.query<Row>(sql, params);
      return { rows: result.rows };
    },
    async transaction<T>(work: (sql: SqlClient) => Promise<T>): Promise<T> {
      if (!("transaction" in db)) return await work(pgliteSqlClient(db));
      return await db.transaction(async (tx) => await work(pgliteSqlClient(tx)));
    },
  };
}
