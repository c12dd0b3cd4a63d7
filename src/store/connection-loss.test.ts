import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { type FaultProxy, startFaultProxy } from "../../test/support/fault-proxy.ts";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { isStoreUnavailable } from "./is-store-unavailable.ts";
import { openStore } from "./open-store.ts";
import { pooledTransaction } from "./postgres-sql-client.ts";
import type { SqlStore } from "./sql-store.ts";
import { runStart, uniqueName } from "./store-contract-fixtures.ts";

// Under CI=true this throws when no server was started, failing the file rather than skipping PostgreSQL.
const serverUrl = testDatabaseServerUrl();
const skip = serverUrl === null ? "PostgreSQL is not installed on this machine" : false;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail("expected a rejection");
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The backend serving a store's LISTEN, seen from another connection. */
async function listenerPid(observer: SqlStore): Promise<number | undefined> {
  const { rows } = await observer.sql.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'",
  );
  return rows[0]?.pid;
}

describe("a PostgreSQL store whose connections are lost", { skip }, () => {
  let databaseUrl: string;
  let store: SqlStore;
  let observer: SqlStore;

  before(async () => {
    databaseUrl = await createTestDatabase(serverUrl!);
    store = await openStore({ databaseUrl });
    observer = await openStore({ databaseUrl });
  });

  after(async () => {
    await store.close();
    await observer.close();
  });

  test("a connection terminated inside sql.transaction rejects that transaction instead of ending the process", async () => {
    // What would have ended a real process: an 'error' event on a pg client with no listener.
    const uncaught: unknown[] = [];
    const monitor = (error: unknown) => uncaught.push(error);
    process.on("uncaughtExceptionMonitor", monitor);
    const error = await rejection(
      store.sql.transaction(async (tx) => {
        const { rows } = await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        // The server ends this transaction's connection (57P01) while the transaction holds it between queries.
        await observer.sql.query("SELECT pg_terminate_backend($1)", [rows[0]!.pid]);
        await new Promise((resolve) => setTimeout(resolve, 200));
        await tx.query("SELECT 1");
      }),
    );
    process.removeListener("uncaughtExceptionMonitor", monitor);
    assert.deepEqual(uncaught.map(String), []);
    assert.equal(isStoreUnavailable(error), true, String(error));
    // The pool dropped the broken connection: the next queries get a fresh one.
    assert.deepEqual((await store.sql.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
    assert.deepEqual(await store.sql.transaction(async (tx) => (await tx.query("SELECT 2 AS two")).rows), [
      { two: 2 },
    ]);
  });

  test("a connection the server ends in the same read that hands it to a waiting transaction reaches that transaction, not an unhandled 'error' event", async () => {
    // One connection, held, so the transaction below waits for it in the pool's queue.
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    pool.on("error", () => undefined);
    try {
      const held = await pool.connect();
      const heldPid = (await held.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      const transaction = pooledTransaction(
        pool,
        async (client) =>
          (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid,
      );
      await new Promise((resolve) => setImmediate(resolve));
      // What the driver does when a reply and the server's "terminating connection" arrive in one packet: the
      // reply releases the connection, the pool hands it to the waiter there and then, and the next message in
      // the same read is emitted as 'error' before any awaiting code has run.
      const fatal = Object.assign(new Error("terminating connection due to administrator command"), {
        code: "57P01",
      });
      held.release();
      held.emit("error", fatal);
      assert.equal(await transaction, heldPid);
      // The transaction knew its connection was lost, so the pool discarded it rather than hand it out again.
      const next = await pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      assert.notEqual(next.rows[0]!.pid, heldPid);
    } finally {
      await pool.end();
    }
  });

  test("a terminated LISTEN connection is re-established by itself and carries other processes' notifications again", async () => {
    await store.waitForWork({ timeoutMs: 1 });
    const first = await eventually("the store listens", async () => await listenerPid(observer));
    await observer.sql.query("SELECT pg_terminate_backend($1)", [first]);
    // Nobody waits on the store meanwhile: it subscribes again on its own.
    const second = await eventually("the store listens again", async () => {
      const pid = await listenerPid(observer);
      return pid !== undefined && pid !== first ? pid : undefined;
    });
    assert.notEqual(second, first);
    const started = Date.now();
    const woken = store.waitForWork({ timeoutMs: 20_000 });
    // Another process's new run: only a NOTIFY over the new LISTEN connection can end the wait early.
    await observer.createRun({ runId: uniqueName("run"), start: runStart(uniqueName("agent")) });
    await woken;
    assert.ok(Date.now() - started < 10_000, `woke after ${Date.now() - started} ms`);
  });
});

describe("a PostgreSQL store behind a network that fails", { skip }, () => {
  let proxy: FaultProxy;
  let store: SqlStore;

  before(async () => {
    proxy = await startFaultProxy(await createTestDatabase(serverUrl!));
    store = await openStore({ databaseUrl: proxy.url });
  });

  after(async () => {
    proxy.restore();
    await store.close();
    await proxy.close();
  });

  test("fails reads and writes as unavailable while cut off, keeps waits to their timeout, and works once the link is back", async () => {
    const runId = uniqueName("run");
    await store.createRun({ runId, start: runStart(uniqueName("agent")) });
    await store.waitForWork({ timeoutMs: 1 });
    proxy.cut();
    try {
      const read = await rejection(store.getRun(runId));
      assert.equal(isStoreUnavailable(read), true, String(read));
      const write = await rejection(
        store.createRun({ runId: uniqueName("run"), start: runStart(uniqueName("agent")) }),
      );
      assert.equal(isStoreUnavailable(write), true, String(write));
      // A worker polls through an outage: the wait neither throws nor returns at once, so nothing spins.
      const started = Date.now();
      await store.waitForWork({ timeoutMs: 300 });
      assert.ok(Date.now() - started >= 250, `returned after ${Date.now() - started} ms`);
    } finally {
      proxy.restore();
    }
    assert.equal(
      (await eventually("the store answers", async () => await store.getRun(runId).catch(() => undefined)))
        ?.runId,
      runId,
    );
  });
});
