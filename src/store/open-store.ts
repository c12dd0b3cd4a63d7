import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
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
export type OpenStoreOptions = {
  databaseUrl?: string | undefined;
  dataDir?: string | undefined;
  /**
   * A tar of a new, migrated PGlite cluster (`writePgliteTemplate`) that a new PGlite database (in memory, or a
   * data directory holding no cluster yet) is unpacked from instead of running initdb. Default: the process's
   * `usePgliteTemplate`, else none.
   */
  pgliteTemplate?: string | undefined;
};

let processTemplate: string | undefined;

/**
 * Have every new PGlite database this process opens start from `path` (see `OpenStoreOptions.pgliteTemplate`)
 * unless the caller names its own; `undefined` turns it off. The test runner makes one template per run and sets
 * it in each test process.
 */
export function usePgliteTemplate(path: string | undefined): void {
  processTemplate = path;
}

/**
 * Build the store a composition root asked for and migrate it: PostgreSQL when a URL is given, else PGlite
 * at `dataDir`, else an in-memory PGlite. The store owns what this creates, so `close()` frees it all.
 *
 * A new PGlite database (in memory, or a data directory with no cluster yet) runs initdb inside WebAssembly, about
 * 3 s of CPU; unpacked from a template instead it takes about a third of that. The migrations run either way, so a
 * template older than the code is brought up to date like any database.
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
    const template = options.pgliteTemplate ?? processTemplate;
    const isNew = !options.dataDir || !existsSync(join(options.dataDir, "PG_VERSION"));
    const db = new PGlite({
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      ...(template && isNew ? { loadDataDir: await templateCopy(template) } : {}),
    });
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

/** Each template's bytes, read once per process (a test process opens dozens of stores from one). */
const templates = new Map<string, Promise<ArrayBuffer>>();

/**
 * A template as the Blob PGlite unpacks, which reads it only through `arrayBuffer()`: a copy of the bytes read once,
 * for each database its own. Reading the 40 MiB file into a new Blob for each database and reading that back took
 * about 0.8 s of CPU per store, of about 2 s in all.
 */
class TemplateCopy extends Blob {
  readonly #bytes: ArrayBuffer;
  constructor(bytes: ArrayBuffer) {
    super([]);
    this.#bytes = bytes;
  }
  override async arrayBuffer(): Promise<ArrayBuffer> {
    return this.#bytes.slice(0);
  }
}

async function templateCopy(path: string): Promise<Blob> {
  let bytes = templates.get(path);
  if (!bytes) {
    bytes = readFile(path).then((buffer) =>
      buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength),
    );
    templates.set(path, bytes);
    // A read that failed is not kept: the next store tries the file again.
    bytes.catch(() => templates.delete(path));
  }
  return new TemplateCopy(await bytes);
}

/** Write a tar of a new, migrated PGlite cluster to `path`: a template for `OpenStoreOptions.pgliteTemplate`. */
export async function writePgliteTemplate(path: string): Promise<void> {
  const db = new PGlite();
  await db.waitReady;
  try {
    await new PgliteStore(db).migrate();
    await db.exec("CHECKPOINT");
    const tar = await db.dumpDataDir("none");
    await writeFile(path, Buffer.from(await tar.arrayBuffer()));
  } finally {
    await db.close();
  }
}
