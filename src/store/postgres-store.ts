import type pg from "pg";
import { postgresSqlClient } from "./postgres-sql-client.ts";
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
  return {
    kind: "postgres",
    sql: postgresSqlClient(pool),
    async transaction(work) {
      const client = await pool.connect();
      // A checked-out client has no pool listener: without ours a dropped connection would crash the process.
      let broken: Error | undefined;
      const onError = (error: Error) => {
        broken = error;
      };
      client.on("error", onError);
      try {
        await client.query("BEGIN");
        const result = await work({
          ...postgresSqlClient(client),
          async exec(script) {
            // No parameters: pg uses the simple protocol, which accepts several statements.
            await client.query(script);
          },
        });
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
    },
    async listen({ channels, onNotification, onLost }) {
      // LISTEN belongs to a session, so it needs a connection of its own for as long as the store lives.
      const client = await pool.connect();
      let stopped = false;
      const onError = (error: Error) => {
        if (stopped) return;
        stopped = true;
        client.release(error);
        onLost(error);
      };
      client.on("error", onError);
      client.on("notification", (message) => onNotification(message.channel, message.payload ?? ""));
      try {
        for (const channel of channels) await client.query(`LISTEN ${channel}`);
      } catch (error) {
        stopped = true;
        client.release(error instanceof Error ? error : true);
        throw error;
      }
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
    },
  };
}
