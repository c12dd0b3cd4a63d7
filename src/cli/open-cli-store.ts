import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import pg from "pg";
import { KeelError } from "../errors/index.ts";
import type { SqlStore } from "../store/index.ts";
import { openStore } from "../store/index.ts";
import type { CliIo } from "./cli-io.ts";
import { lockDataDir } from "./data-dir-lock.ts";

/** A store a `keel` command opened, where it is (said plainly, no password), and how to let it go. */
export type CliStore = {
  store: SqlStore;
  where: string;
  /** True when an embedded store was made by this call (there was none in the data directory). */
  created: boolean;
  close(): Promise<void>;
};

/** How long a command waits for PostgreSQL to accept a connection before saying it cannot be reached. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Open the store a command works on: the PostgreSQL in `DATABASE_URL` when it is set, else the embedded store in
 * `<dataDir>/pgdata`, locked to this process. Only commands that set a store up (`keel serve`, `keel keys create`)
 * may `create` the embedded store; every other command refuses a data directory that holds none, rather than
 * making an empty store and reporting on it.
 */
export async function openCliStore(options: {
  io: CliIo;
  dataDir: string;
  create?: boolean;
}): Promise<CliStore> {
  const databaseUrl = options.io.env.DATABASE_URL;
  if (databaseUrl) {
    const target = await checkDatabaseUrl(databaseUrl);
    const store = await openStore({ databaseUrl });
    return { store, where: `PostgreSQL (${target})`, created: false, close: () => store.close() };
  }
  const dir = resolve(options.dataDir);
  const pgdata = join(dir, "pgdata");
  const exists = existsSync(join(pgdata, "PG_VERSION"));
  if (!options.create && !exists) {
    throw new KeelError(
      "not_found",
      `no Keel store in ${dir} (${pgdata} does not exist): pass the data directory \`keel serve\` uses with --data-dir (or KEEL_DATA_DIR), or set DATABASE_URL`,
    );
  }
  const release = lockDataDir(dir);
  try {
    // KEEL_PGLITE_TEMPLATE: a migrated cluster a new embedded store is unpacked from (the test runner sets it).
    const store = await openStore({ dataDir: pgdata, pgliteTemplate: options.io.env.KEEL_PGLITE_TEMPLATE });
    return {
      store,
      where: `embedded PGlite in ${dir}`,
      created: !exists,
      async close() {
        try {
          await store.close();
        } finally {
          release();
        }
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * Check that `DATABASE_URL` is a PostgreSQL URL and that its server accepts a connection, so a typo or a server
 * that is down is one line naming the variable and the host — never the password — instead of a driver's stack.
 * Returns the URL with its password masked.
 */
export async function checkDatabaseUrl(url: string): Promise<string> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    parsed = new URL("invalid:");
  }
  if (!["postgres:", "postgresql:"].includes(parsed.protocol) || parsed.hostname === "") {
    throw new KeelError(
      "invalid_request",
      "DATABASE_URL is not a PostgreSQL URL: expected postgres://user:password@host:5432/database",
      { issues: [{ path: "DATABASE_URL", message: "expected postgres://user:password@host:5432/database" }] },
    );
  }
  const password = parsed.password;
  if (password) parsed.password = "***";
  const masked = parsed.toString();
  const host = `${parsed.hostname}:${parsed.port || "5432"}`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // A connection that fails after connecting must not end the process with an unhandled 'error' event.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    const secret = decoded(password);
    const said = connectionFailure(error);
    const reason = secret ? said.replaceAll(secret, "***") : said;
    throw new KeelError(
      "unavailable",
      `cannot connect to the PostgreSQL in DATABASE_URL (${masked}) at ${host}: ${reason}`,
      { cause: error },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  return masked;
}

/** What went wrong connecting, in words: the driver's message for what the server said, plain words otherwise. */
function connectionFailure(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (is PostgreSQL running there?)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "no such host";
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "the host cannot be reached";
    default:
      return /timeout/i.test(message) ? `no answer within ${CONNECT_TIMEOUT_MS / 1_000} s` : message;
  }
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
