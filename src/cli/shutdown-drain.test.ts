import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { agentPackages } from "../../test/support/gated-support-triage.ts";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import type { JournalEvent } from "../journal/events.ts";
import { startRun } from "../runtime/start-run.ts";
import { loadAgentPackages } from "../server/create-keel.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";

const entry = new URL("./main.ts", import.meta.url).pathname;
const gatedPackages = new URL("../../test/support/gated-support-triage.ts", import.meta.url).pathname;
/** Keel's default lease: a run left to expire would wait this long for another worker. */
const LEASE_TTL_MS = 15_000;

/** A spawned `keel` and the lines it prints, read as they come. */
type Keel = {
  process: ChildProcess;
  exited: Promise<number | null>;
  waitFor(pattern: RegExp): Promise<string>;
};

function spawnKeel(args: string[], env: Record<string, string>): Keel {
  const child = spawn(process.execPath, [entry, ...args, "--packages", gatedPackages], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const nextMatch = async (pattern: RegExp): Promise<string> => {
    for (let line = await lines.next(); !line.done; line = await lines.next()) {
      if (pattern.test(line.value)) return line.value;
    }
    throw new Error(`keel ${args[0]} exited before printing ${pattern}`);
  };
  return {
    process: child,
    exited,
    async waitFor(pattern, timeoutMs = 60_000) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`keel ${args[0]} printed no ${pattern} in ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([nextMatch(pattern), timedOut]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

async function completed(store: SqlStore, runId: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const run = await store.getRun(runId);
    if (run?.status === "completed") return Date.now() - started;
    assert.ok(run && ["queued", "running"].includes(run.status), `the run is ${run?.status}`);
    assert.ok(Date.now() - started < timeoutMs, `the run did not complete within ${timeoutMs} ms`);
    await store.waitForEvents({ runId, afterSeq: run.lastSeq, timeoutMs: 250 });
  }
}

function getOrderEvents(
  events: readonly JournalEvent[],
  type: "tool-call-start" | "tool-call-end",
): JournalEvent[] {
  return events.filter(
    (event) => event.type === type && (event.payload as { tool?: string }).tool === "get_order",
  );
}

const serverUrl = testDatabaseServerUrl();

describe("SIGTERM drains keel serve and keel worker", {
  skip: serverUrl === null ? "PostgreSQL is not installed on this machine" : false,
}, () => {
  let databaseUrl: string;
  let store: SqlStore;
  let directory: string;
  const spawned: Keel[] = [];

  before(async () => {
    databaseUrl = await createTestDatabase(serverUrl!);
    store = await openStore({ databaseUrl });
    directory = mkdtempSync(join(tmpdir(), "keel-drain-"));
  });

  after(async () => {
    for (const keel of spawned) {
      if (keel.process.exitCode === null && keel.process.signalCode === null) keel.process.kill("SIGKILL");
      await keel.exited;
    }
    await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  async function startOrderRun(): Promise<string> {
    const { agents } = await loadAgentPackages({ store, packages: agentPackages, env: {} });
    const agent = agents.current("support-triage")!;
    const { run } = await startRun({
      store,
      agent,
      input: "Where is my order 1042?",
      principal: { subject: "ada@example.com", tenant: "default", roles: ["customer"] },
    });
    return run.runId;
  }

  /** The run held by `holder` inside get_order, and a second worker ready to take it over. */
  async function holdRunInStep(holder: Keel, ready: RegExp, gate: string) {
    await holder.waitFor(ready);
    const runId = await startOrderRun();
    assert.equal(await holder.waitFor(/^GATE /), `GATE ${runId}`);
    // Started only now, so the run is certainly the holder's; it waits for work the holder gives back.
    const successor = spawnKeel(["worker", "--concurrency", "2"], { DATABASE_URL: databaseUrl });
    spawned.push(successor);
    await successor.waitFor(/is claiming runs/);
    return { runId, successor, gate };
  }

  test("keel serve lets the step in progress finish, releases the run's lease, exits 0, and another worker finishes the run at once", async () => {
    const gate = join(directory, "serve-gate");
    const serve = spawnKeel(["serve", "--port", "0", "--grace-period", "30"], {
      DATABASE_URL: databaseUrl,
      KEEL_TEST_GATE_FILE: gate,
    });
    spawned.push(serve);
    const { runId, successor } = await holdRunInStep(serve, /Keel is running at/, gate);
    serve.process.kill("SIGTERM");
    await serve.waitFor(/^stopping:/);
    // The step finishes during the drain: get_order completes and its result is journaled by the draining server.
    writeFileSync(gate, "");
    assert.equal(await serve.exited, 0);
    const afterExit = Date.now();
    const elapsed = await completed(store, runId, LEASE_TTL_MS);
    const waited = Date.now() - afterExit;
    assert.ok(waited < LEASE_TTL_MS / 2, `the run waited ${waited} ms (${elapsed}) for its next worker`);
    const events = await store.readEvents({ runId });
    assert.equal(getOrderEvents(events, "tool-call-start").length, 1, "get_order ran once");
    assert.deepEqual(
      getOrderEvents(events, "tool-call-end").map((event) => (event.payload as { outcome: string }).outcome),
      ["ok"],
    );
    assert.ok(
      events.some(
        (event) =>
          event.type === "run-resume" && (event.payload as { worker?: string }).worker?.endsWith(":worker"),
      ),
      "the second worker resumed the run",
    );
    successor.process.kill("SIGTERM");
    assert.equal(await successor.exited, 0);
  });

  test("keel worker interrupts a step still running when the grace period ends, releases the lease and exits 0", async () => {
    const gate = join(directory, "worker-gate-never-opened");
    const worker = spawnKeel(["worker", "--grace-period", "1"], {
      DATABASE_URL: databaseUrl,
      KEEL_TEST_GATE_FILE: gate,
    });
    spawned.push(worker);
    const { runId, successor } = await holdRunInStep(worker, /is claiming runs/, gate);
    const signalled = Date.now();
    worker.process.kill("SIGTERM");
    assert.equal(await worker.exited, 0);
    const stoppedAfter = Date.now() - signalled;
    assert.ok(stoppedAfter >= 900 && stoppedAfter < 10_000, `exited ${stoppedAfter} ms after SIGTERM`);
    const afterExit = Date.now();
    await completed(store, runId, LEASE_TTL_MS);
    const waited = Date.now() - afterExit;
    assert.ok(waited < LEASE_TTL_MS / 2, `the run waited ${waited} ms for its next worker`);
    // The interrupted call (get_order) is read-only, so its start was to ride with its end: nothing of its step was
    // journaled, and the successor took the step again and ran the call once more to its end.
    const events = await store.readEvents({ runId });
    assert.equal(getOrderEvents(events, "tool-call-start").length, 1);
    assert.deepEqual(
      getOrderEvents(events, "tool-call-end").map((event) => (event.payload as { outcome: string }).outcome),
      ["ok"],
    );
    successor.process.kill("SIGTERM");
    assert.equal(await successor.exited, 0);
  });
});
