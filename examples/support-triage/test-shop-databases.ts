/** Test support: the two databases every shop test runs on, and a way to call a tool as the runtime would. */
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { pgliteSqlClient } from "../../src/store/pglite-sql-client.ts";
import { postgresSqlClient } from "../../src/store/postgres-sql-client.ts";
import type { SqlClient } from "../../src/store/store.ts";
import type { Tool } from "../../src/tools/tool.ts";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";

/** An open, empty database; `url` is set for PostgreSQL so a test can open a second connection pool. */
export type ShopDatabase = { sql: SqlClient; url: string | null; close(): Promise<void> };

/** PGlite always, PostgreSQL when the test run started one (skipped, with the reason, when it did not). */
export function shopDatabaseKinds(): { name: string; skip: string | false; open(): Promise<ShopDatabase> }[] {
  const serverUrl = testDatabaseServerUrl();
  return [
    {
      name: "on PGlite",
      skip: false,
      async open() {
        const db = new PGlite();
        return { sql: pgliteSqlClient(db), url: null, close: () => db.close() };
      },
    },
    {
      name: "on PostgreSQL",
      skip: serverUrl === null ? "no PostgreSQL on this machine (KEEL_TEST_DATABASE_URL is not set)" : false,
      async open() {
        const url = await createTestDatabase(serverUrl!);
        const pool = new pg.Pool({ connectionString: url, max: 4 });
        return { sql: postgresSqlClient(pool), url, close: () => pool.end() };
      },
    },
  ];
}

/** Validate arguments, execute and validate the output, like the runtime does; a validation failure throws. */
export async function callTool(
  tool: Tool,
  args: unknown,
  options: { idempotencyKey?: string; signal?: AbortSignal } = {},
): Promise<unknown> {
  const input = tool.input.parse(args);
  const output = await tool.execute(input, {
    runId: "run_test",
    callId: "call_test",
    idempotencyKey: options.idempotencyKey ?? `key-${crypto.randomUUID()}`,
    signal: options.signal ?? new AbortController().signal,
  });
  return tool.output ? tool.output.parse(output) : output;
}
