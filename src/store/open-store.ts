import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { PgliteStore } from "./pglite-store.ts";
import { PostgresStore } from "./postgres-store.ts";
import type { SqlStore } from "./sql-store.ts";

/** How long taking a new PostgreSQL connection may take before the query that needed it fails as unavailable. */
const CONNECT_TIMEOUT_MS = 5_000;

/** Where a composition root wants its data: a PostgreSQL URL, a PGlite directory, or neither (in memory). */
export type OpenStoreOptions = { databaseUrl?: string | undefined; dataDir?: string | undefined };

/**
 * Build the store a composition root asked for and migrate it: PostgreSQL when a URL is given, else PGlite
 * at `dataDir`, else an in-memory PGlite. The store owns what this creates, so `close()` frees it all.
 */
export async function openStore(options: OpenStoreOptions = {}): Promise<SqlStore> {
  let store: SqlStore;
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      // A server that does not answer (a cut network rather than a refused connection) fails a checkout in
      // seconds instead of holding the caller forever, and keep-alive finds connections that died silently.
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
    });
    store = new PostgresStore(pool, { ownsPool: true });
  } else {
    if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
    const db = options.dataDir ? new PGlite(options.dataDir) : new PGlite();
    await db.waitReady;
    store = new PgliteStore(db, { ownsDatabase: true });
  }
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
