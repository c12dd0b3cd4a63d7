import type pg from "pg";
import { checkOut, pooledTransaction, postgresSqlClient } from "./postgres-sql-client.ts";
import { SqlStore } from "./sql-store.ts";
import type { StoreDriver } from "./store-driver.ts";

/** Options for a store over a PostgreSQL pool. */
export type PostgresStoreOptions = {
  /** End the pool when the store closes (set by `openStore`, which created it). */
  ownsPool?: boolean;
};

/**
 * The scale-out store: Keel's SQL on PostgreSQL through a `pg` pool the composition root built. Any number of
 * processes may share the database; leases fence their writes and LISTEN/NOTIFY carries wake-ups between them.
 */
export class PostgresStore extends SqlStore {
  constructor(pool: pg.Pool, options: PostgresStoreOptions = {}) {
    super(postgresDriver(pool, options.ownsPool ?? false));
  }
}

function postgresDriver(pool: pg.Pool, ownsPool: boolean): StoreDriver {
  // An idle connection the server drops is removed by the pool and the next query connects anew; with no
  // listener, the pool's 'error' event for it would end the process instead.
  const onIdleError = () => undefined;
  pool.on("error", onIdleError);
  return {
    kind: "postgres",
    sql: postgresSqlClient(pool),
    async transaction(work) {
      return await pooledTransaction(
        pool,
        async (client) =>
          await work({
            ...postgresSqlClient(client),
            async exec(script) {
              // No parameters: pg uses the simple protocol, which accepts several statements.
              await client.query(script);
            },
          }),
      );
    },
    async listen({ channels, onNotification, onLost }) {
      // LISTEN belongs to a session, so it needs a connection of its own for as long as the store lives.
      let stopped = false;
      let checkedOut: pg.PoolClient | undefined;
      let lostEarly: Error | undefined;
      const lose = (error: Error) => {
        if (checkedOut === undefined) {
          // Lost in the handover itself, before the connection reached this code: acted on just below.
          lostEarly ??= error;
          return;
        }
        if (stopped) return;
        stopped = true;
        checkedOut.release(error);
        onLost(error);
      };
      const client = await checkOut(pool, lose);
      checkedOut = client;
      if (lostEarly) lose(lostEarly);
      client.on("end", () => lose(new Error("Connection terminated: the LISTEN connection ended")));
      client.on("notification", (message) => onNotification(message.channel, message.payload ?? ""));
      try {
        for (const channel of channels) await client.query(`LISTEN ${channel}`);
      } catch (error) {
        if (!stopped) {
          stopped = true;
          client.release(error instanceof Error ? error : true);
        }
        throw error;
      }
      if (stopped) throw new Error("Connection terminated while subscribing to notifications");
      return {
        async stop() {
          if (stopped) return;
          stopped = true;
          // Destroy rather than return it: a pooled connection must not keep listening for someone else.
          client.release(true);
        },
      };
    },
    async close() {
      if (ownsPool && !pool.ended) await pool.end();
      pool.removeListener("error", onIdleError);
    },
  };
}
