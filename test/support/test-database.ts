import { randomBytes } from "node:crypto";
import pg from "pg";
import { openStore } from "../../src/store/open-store.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";

/**
 * The PostgreSQL server the test run started (scripts/run-tests.ts sets KEEL_TEST_DATABASE_URL), or null
 * when this machine has none. Under CI=true PostgreSQL tests must run, so its absence fails the run there.
 */
export function testDatabaseServerUrl(): string | null {
  const url = process.env.KEEL_TEST_DATABASE_URL;
  if (url) return url;
  if (process.env.CI === "true") {
    throw new Error("CI=true but KEEL_TEST_DATABASE_URL is not set: PostgreSQL tests must run in CI");
  }
  return null;
}

/** A fresh, empty database on the test server, so test files running in parallel never share tables. */
export async function createTestDatabase(serverUrl: string): Promise<string> {
  const name = `keel_test_${randomBytes(6).toString("hex")}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * The stores a contract-style test runs against: an in-memory PGlite always, and a fresh PostgreSQL database when
 * the test run has a server (always under CI=true).
 */
export function testStores(): { name: "PGlite" | "PostgreSQL"; open: () => Promise<SqlStore> }[] {
  const serverUrl = testDatabaseServerUrl();
  return [
    { name: "PGlite", open: async () => await openStore({}) },
    ...(serverUrl === null
      ? []
      : [
          {
            name: "PostgreSQL" as const,
            open: async () => await openStore({ databaseUrl: await createTestDatabase(serverUrl) }),
          },
        ]),
  ];
}
