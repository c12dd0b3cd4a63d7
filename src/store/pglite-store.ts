import type { PGlite } from "@electric-sql/pglite";
import { pgliteSqlClient } from "./pglite-sql-client.ts";
import { SqlStore } from "./sql-store.ts";
import type { StoreDriver } from "./store-driver.ts";

/** Options for a store over an embedded PGlite database. */
export type PgliteStoreOptions = {
  /** Close the PGlite instance when the store closes (set by `openStore`, which created it). */
  ownsDatabase?: boolean;
};

/** The embedded store: Keel's SQL on an in-process PGlite database, nothing to install (ARCHITECTURE.md §5). */
export class PgliteStore extends SqlStore {
  constructor(db: PGlite, options: PgliteStoreOptions = {}) {
    super(pgliteDriver(db, options.ownsDatabase ?? false));
  }
}

function pgliteDriver(db: PGlite, ownsDatabase: boolean): StoreDriver {
  return {
    kind: "pglite",
    sql: pgliteSqlClient(db),
    async transaction(work) {
      return await db.transaction(
        async (tx) =>
          await work({
            ...pgliteSqlClient(tx, db),
            async exec(script) {
              await tx.exec(script);
            },
          }),
      );
    },
    // PGlite has no other processes, but several stores may share one instance; its own LISTEN reaches them.
    async listen({ channels, onNotification }) {
      const stops = await Promise.all(
        channels.map(
          async (channel) => await db.listen(channel, (payload) => onNotification(channel, payload)),
        ),
      );
      return {
        async stop() {
          if (db.closed) return;
          await Promise.all(stops.map(async (stop) => await stop()));
        },
      };
    },
    async close() {
      if (ownsDatabase && !db.closed) await db.close();
    },
  };
}
