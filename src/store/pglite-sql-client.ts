import { type PGlite, parse, protocol, type Transaction } from "@electric-sql/pglite";
import type { SqlClient } from "./store.ts";

/**
 * A SqlClient over a PGlite instance, or over one of its transactions (`db`) given with the instance it belongs to
 * (`instance`). A statement named with `options.prepared` is prepared once per instance and then sent as one
 * protocol message (`preparedQuery`); the rest go through PGlite's own `query`, as does a named one on a
 * transaction whose instance is not known.
 */
export function pgliteSqlClient(db: PGlite | Transaction, instance?: PGlite): SqlClient {
  const owner = isInstance(db) ? db : instance;
  return {
    kind: "pglite",
    async query<Row>(sql: string, params: unknown[] = [], options?: { prepared?: string }) {
      if (options?.prepared && owner) {
        const rows = await preparedQuery(owner, options.prepared, sql, params, {
          inTransaction: db !== owner,
        });
        return { rows: rows as Row[] };
      }
      const result = await db.query<Row>(sql, params);
      return { rows: result.rows };
    },
    async transaction<T>(work: (sql: SqlClient) => Promise<T>): Promise<T> {
      if (!isInstance(db)) return await work(pgliteSqlClient(db, instance));
      return await db.transaction(async (tx) => await work(pgliteSqlClient(tx, db)));
    },
  };
}

function isInstance(db: PGlite | Transaction): db is PGlite {
  return "transaction" in db;
}

type BackendMessage = Awaited<ReturnType<PGlite["execProtocolStream"]>>[number];

/** A statement prepared on one instance: its text, the types of its parameters and the shape of its rows. */
type Prepared = { text: string; parameterTypes: number[]; rowDescription: BackendMessage | null };

/**
 * What an instance has prepared, by name. The names live in its one session for as long as it does, and the server
 * plans such a statement again by itself when a table it reads changes.
 */
const preparedOn = new WeakMap<PGlite, Map<string, Prepared>>();

/**
 * Run a named statement. PGlite's `query` parses, plans and describes its text on every call, in six calls into the
 * WebAssembly module (parse, describe, bind, describe, execute, sync) — for a hot statement, more than the work
 * itself. Here the text is parsed and described once per instance, and each call is a single message (bind,
 * execute, sync) answered with the rows; the server keeps the statement's plan when a generic one is as cheap as
 * the custom ones. Results, errors and notifications come back as they do from `query`: the same row parsers, the
 * statement's own error, and NOTIFYs delivered to the instance's listeners (`execProtocolStream` reads them).
 */
async function preparedQuery(
  db: PGlite,
  name: string,
  text: string,
  params: unknown[],
  options: { inTransaction: boolean },
): Promise<unknown[]> {
  await db._checkReady();
  // The two mutexes `PGlite.query` takes, which its protocol calls leave to the caller. A transaction's statements
  // run while it holds the transaction mutex, as its own `query` does; the others take it, so none runs inside a
  // transaction that is not theirs.
  const run = async () =>
    await db._runExclusiveQuery(async () => {
      const prepared = await preparedStatement(db, name, text);
      const values = params.map((param, index) => {
        if (param === null || param === undefined) return null;
        const serialize = db.serializers[prepared.parameterTypes[index]!];
        return serialize ? serialize(param) : String(param);
      });
      const messages = await db.execProtocolStream(
        joinMessages([
          protocol.serialize.bind({ statement: name, values }),
          protocol.serialize.execute({}),
          protocol.serialize.sync(),
        ]),
        { syncToFs: false },
      );
      // Written through to the file system as `query` does, at the end of a statement outside a transaction.
      if (!options.inTransaction) await db.syncToFs();
      const described = prepared.rowDescription ? [prepared.rowDescription, ...messages] : messages;
      return parse.parseResults(described, db.parsers)[0]?.rows ?? [];
    });
  return options.inTransaction ? await run() : await db._runExclusiveTransaction(run);
}

/** The instance's statement of this name, prepared now if it is new. Called holding the instance's mutexes. */
async function preparedStatement(db: PGlite, name: string, text: string): Promise<Prepared> {
  let statements = preparedOn.get(db);
  if (!statements) {
    statements = new Map();
    preparedOn.set(db, statements);
  }
  const known = statements.get(name);
  if (known) {
    if (known.text !== text) throw new Error(`prepared statement ${name} was given two different texts`);
    return known;
  }
  const messages = await db.execProtocolStream(
    joinMessages([
      protocol.serialize.parse({ name, text }),
      protocol.serialize.describe({ type: "S", name }),
      protocol.serialize.sync(),
    ]),
    { syncToFs: false },
  );
  const prepared: Prepared = {
    text,
    parameterTypes: parse.parseDescribeStatementResults(messages),
    rowDescription: messages.find((message) => message.name === "rowDescription") ?? null,
  };
  statements.set(name, prepared);
  return prepared;
}

function joinMessages(parts: Uint8Array[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}
