import type pg from "pg";
import type { SqlClient } from "./store.ts";

/** A SqlClient over a `pg` pool; transactions take one pooled connection for their duration. */
export function postgresSqlClient(pool: pg.Pool | pg.PoolClient): SqlClient {
  return {
    kind: "postgres",
    async query<Row>(sql: string, params: unknown[] = []) {
      const result = await pool.query(sql, params);
      return { rows: result.rows as Row[] };
    },
    async transaction<T>(work: (sql: SqlClient) => Promise<T>): Promise<T> {
      if (!("connect" in pool) || typeof pool.connect !== "function" || "release" in pool) {
        return await work(postgresSqlClient(pool));
      }
      const client = await (pool as pg.Pool).connect();
      try {
        await client.query("BEGIN");
        const result = await work(postgresSqlClient(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
  };
}
