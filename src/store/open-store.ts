import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { PgliteStore } from "./pglite-store.ts";
import { PostgresStore } from "./postgres-store.ts";
import type { SqlStore } from "./sql-store.ts";

/** How long opening a new PostgreSQL connection may take before the query that needed it fails as unavailable. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * A pg client whose own connect gives up after `CONNECT_TIMEOUT_MS`. The timeout lives on the client, not the
 * pool: pg-pool applies its `connectionTimeoutMillis` to a caller waiting in the queue for a busy connection
 * too, so a burst of work on a healthy but slow server would fail as "unavailable" although nothing is wrong.
 */
class BoundedConnectClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super({
      ...(typeof config === "string" ? { connectionString: config } : config),
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
  }
}

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
      // A server that does not answer (a cut network rather than a refused connection) fails a new connection
      // in seconds instead of holding the caller forever, and keep-alive finds connections that died silently.
      // A caller queued behind busy connections waits its turn: they either finish or fail on their own.
      Client: BoundedConnectClient,
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
