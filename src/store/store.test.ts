import { describe } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { PgliteStore } from "./pglite-store.ts";
import { PostgresStore } from "./postgres-store.ts";
import type { SqlStore } from "./sql-store.ts";
import { storeContract } from "./store-contract.ts";

const pgliteDatabases = new WeakMap<SqlStore, PGlite>();

/**
 * A new cluster, as initdb leaves it (no migrations run), made once per file: each empty database is a copy of it
 * rather than initdb run again, about 3 s of CPU each time.
 */
let emptyCluster: Promise<Blob> | undefined;
async function newEmptyCluster(): Promise<Blob> {
  const db = new PGlite();
  try {
    await db.exec("CHECKPOINT");
    return await db.dumpDataDir("none");
  } finally {
    await db.close();
  }
}

storeContract("PGlite", {
  async openEmpty() {
    emptyCluster ??= newEmptyCluster();
    const db = new PGlite({ loadDataDir: await emptyCluster });
    await db.waitReady;
    const store = new PgliteStore(db, { ownsDatabase: true });
    pgliteDatabases.set(store, db);
    return store;
  },
  // Another worker in the same process: a second store sharing the one embedded database.
  async openPeer(store) {
    const db = pgliteDatabases.get(store);
    if (!db) throw new Error("not a store this file opened");
    const peer = new PgliteStore(db);
    pgliteDatabases.set(peer, db);
    return peer;
  },
});

// Under CI=true this throws when no server was started, failing the file rather than skipping PostgreSQL.
const serverUrl = testDatabaseServerUrl();
if (serverUrl === null) {
  const reason = "PostgreSQL is not installed on this machine (KEEL_TEST_DATABASE_URL is unset)";
  console.log(`skipping the PostgreSQL store contract: ${reason}`);
  describe("PostgreSQL store", { skip: reason }, () => {});
} else {
  const databaseUrls = new WeakMap<SqlStore, string>();
  const openPostgresStore = (url: string): SqlStore => {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    pool.on("error", () => undefined);
    const store = new PostgresStore(pool, { ownsPool: true });
    databaseUrls.set(store, url);
    return store;
  };
  storeContract("PostgreSQL", {
    async openEmpty() {
      return openPostgresStore(await createTestDatabase(serverUrl));
    },
    // Another worker process: its own pool and LISTEN connection on the same database.
    async openPeer(store) {
      const url = databaseUrls.get(store);
      if (!url) throw new Error("not a store this file opened");
      return openPostgresStore(url);
    },
  });
}
