import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openStore } from "../src/store/open-store.ts";
import type { SqlStore } from "../src/store/sql-store.ts";
import { startTemporaryPostgres } from "../test/support/temporary-postgres.ts";

/** A migrated store for one benchmark, and how to throw it away afterwards. */
export type BenchStore = { store: SqlStore; dispose(): Promise<void> };

/** One store implementation under test. Each benchmark opens a fresh store so none inherits another's rows. */
export type BenchTarget = {
  kind: "pglite" | "postgres";
  /** Where the data lives, for the report. */
  where: string;
  /** Port of a PostgreSQL server on this machine that the benchmark drives, to count its CPU; else null. */
  serverPort: number | null;
  openStore(): Promise<BenchStore>;
  close(): Promise<void>;
};

/** PGlite on disk in a temporary directory, opened the way `keel serve` opens it (`<data dir>/pgdata`). */
export function pgliteTarget(): BenchTarget {
  return {
    kind: "pglite",
    where: `on disk under ${tmpdir()}`,
    serverPort: null,
    async openStore() {
      const dir = await mkdtemp(join(tmpdir(), "keel-bench-pglite-"));
      const store = await openStore({ dataDir: join(dir, "pgdata") });
      return {
        store,
        async dispose() {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
    async close() {},
  };
}

/**
 * PostgreSQL at `databaseUrl` (each benchmark reuses that database), or else a throwaway durable server
 * with PostgreSQL's default fsync/synchronous_commit/full_page_writes, where each benchmark gets a new database.
 */
export async function postgresTarget(databaseUrl: string | undefined): Promise<BenchTarget> {
  if (databaseUrl) {
    return {
      kind: "postgres",
      where: "DATABASE_URL",
      serverPort: loopbackPort(databaseUrl),
      async openStore() {
        const store = await openStore({ databaseUrl });
        return { store, dispose: async () => await store.close() };
      },
      async close() {},
    };
  }
  // pg_stat_statements preloaded, so the benches can count statements per step.
  const server = await startTemporaryPostgres({
    durable: true,
    settings: { shared_preload_libraries: "pg_stat_statements" },
  });
  return {
    kind: "postgres",
    where: "a temporary local server (loopback TCP), durable settings",
    serverPort: loopbackPort(server.url),
    async openStore() {
      const name = `keel_bench_${randomBytes(4).toString("hex")}`;
      await administer(server.url, `CREATE DATABASE ${name}`);
      const url = new URL(server.url);
      url.pathname = `/${name}`;
      const store = await openStore({ databaseUrl: url.toString() });
      return {
        store,
        async dispose() {
          await store.close();
          await administer(server.url, `DROP DATABASE ${name}`);
        },
      };
    },
    close: async () => await server.stop(),
  };
}

async function administer(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function loopbackPort(databaseUrl: string): number | null {
  const url = new URL(databaseUrl);
  const local = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  return local ? Number(url.port || 5432) : null;
}
