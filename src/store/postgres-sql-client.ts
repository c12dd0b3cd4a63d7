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
      return await pooledTransaction(
        pool as pg.Pool,
        async (client) => await work(postgresSqlClient(client)),
      );
    },
  };
}

/**
 * Run `work` between BEGIN and COMMIT on one connection checked out of `pool`, and give the connection back.
 * A checked-out connection has no pool listener: when the server ends it (a restart, `pg_terminate_backend`)
 * between two queries, `pg` emits 'error' on it, which without the listener here would end the process. With
 * it, the next query on the connection rejects, the transaction fails like any other, and the pool discards the
 * broken connection instead of handing it out again.
 */
export async function pooledTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on("error", onError);
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch((rollbackError: unknown) => {
      broken ??= rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.removeListener("error", onError);
    client.release(broken);
  }
}
