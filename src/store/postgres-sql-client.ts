import type pg from "pg";
import type { SqlClient } from "./store.ts";

/** A SqlClient over a `pg` pool; transactions take one pooled connection for their duration. */
export function postgresSqlClient(pool: pg.Pool | pg.PoolClient): SqlClient {
  return {
    kind: "postgres",
    async query<Row>(sql: string, params: unknown[] = [], options?: { prepared?: string }) {
      const result = options?.prepared
        ? await pool.query({ name: options.prepared, text: sql, values: params })
        : await pool.query(sql, params);
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
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken ??= error;
  };
  const client = await checkOut(pool, onError);
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

/**
 * Take a connection from `pool` with `onError` already listening. The listener must be on before control leaves
 * the pool: a connection released inside the driver's read loop (a `pool.query` whose reply arrived in the same
 * packet as the server's "terminating connection" message) is handed to the next waiter at once, and the driver
 * emits that message's 'error' before any awaiting code runs, so a listener added after `await pool.connect()`
 * comes too late and the process ends. The callback form of `connect` runs in the handover itself.
 */
export async function checkOut(pool: pg.Pool, onError: (error: Error) => void): Promise<pg.PoolClient> {
  return await new Promise((resolve, reject) => {
    pool.connect((error, client) => {
      if (error || !client) {
        reject(error ?? new Error("the pool gave no connection"));
        return;
      }
      client.on("error", onError);
      resolve(client);
    });
  });
}
