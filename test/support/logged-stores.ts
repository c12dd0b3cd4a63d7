import { PGlite, type Transaction } from "@electric-sql/pglite";
import pg from "pg";
import { PgliteStore } from "../../src/store/pglite-store.ts";
import { PostgresStore } from "../../src/store/postgres-store.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { createTestDatabase, testDatabaseServerUrl } from "./test-database.ts";

/** Every statement a store sent to its database, in order: one round trip each. */
export type StatementLog = string[];

/**
 * A PGlite whose queries and transactions are logged on their way to the real database. A prepared statement
 * (src/store/pglite-sql-client.ts) is logged by its text each time it is executed: one protocol message that binds
 * and runs it, one round trip. Preparing it, once per instance, is not a statement of the code under test's path.
 */
function loggedPglite(db: PGlite, log: StatementLog): PGlite {
  const preparedTexts = new Map<string, string>();
  const logProtocol = (message: Uint8Array) => {
    const kind = String.fromCharCode(message[0]!);
    if (kind === "P") {
      const [name, text] = cStrings(message, 5, 2);
      preparedTexts.set(name!, text!);
    } else if (kind === "B") {
      const [, statement] = cStrings(message, 5, 2);
      log.push(preparedTexts.get(statement!) ?? `EXECUTE ${statement}`);
    }
  };
  const loggedTransaction = (tx: Transaction): Transaction =>
    new Proxy(tx, {
      get(target, property, receiver) {
        if (property === "query") {
          return async (sql: string, params?: unknown[]) => {
            log.push(sql);
            return await target.query(sql, params);
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
  return new Proxy(db, {
    get(target, property) {
      if (property === "query") {
        return async (sql: string, params?: unknown[]) => {
          log.push(sql);
          return await target.query(sql, params);
        };
      }
      if (property === "execProtocolStream") {
        return async (message: Uint8Array, options?: Parameters<PGlite["execProtocolStream"]>[1]) => {
          logProtocol(message);
          return await target.execProtocolStream(message, options);
        };
      }
      if (property === "transaction") {
        return async <T>(work: (tx: Transaction) => Promise<T>) => {
          log.push("BEGIN");
          try {
            const result = await target.transaction(async (tx) => await work(loggedTransaction(tx)));
            log.push("COMMIT");
            return result;
          } catch (error) {
            log.push("ROLLBACK");
            throw error;
          }
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** `count` NUL-terminated strings of a protocol message from `offset` (after its type byte and length). */
function cStrings(message: Uint8Array, offset: number, count: number): string[] {
  const strings: string[] = [];
  let start = offset;
  for (let index = 0; index < count; index++) {
    const end = message.indexOf(0, start);
    strings.push(new TextDecoder().decode(message.subarray(start, end)));
    start = end + 1;
  }
  return strings;
}

/** A pg pool whose every connection logs the statements it sends, BEGIN and COMMIT included. */
function loggedPool(url: string, log: StatementLog): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  pool.on("error", () => undefined);
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const [text] = args;
      log.push(typeof text === "string" ? text : String((text as { text?: string }).text));
      return query(...args);
    };
  });
  return pool;
}

/**
 * The stores a round-trip test runs on, each logging every statement it sends into the log it is opened with: an
 * in-memory PGlite always, and a fresh PostgreSQL database when the test run has a server (always under CI=true).
 */
export function loggedStores(): { name: string; open: (log: StatementLog) => Promise<SqlStore> }[] {
  const stores: { name: string; open: (log: StatementLog) => Promise<SqlStore> }[] = [
    {
      name: "PGlite",
      open: async (log) => {
        const db = new PGlite();
        await db.waitReady;
        return new PgliteStore(loggedPglite(db, log), { ownsDatabase: true });
      },
    },
  ];
  const serverUrl = testDatabaseServerUrl();
  if (serverUrl !== null) {
    stores.push({
      name: "PostgreSQL",
      open: async (log) =>
        new PostgresStore(loggedPool(await createTestDatabase(serverUrl), log), { ownsPool: true }),
    });
  }
  return stores;
}
