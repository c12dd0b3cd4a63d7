import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { type FaultProxy, startFaultProxy } from "../../test/support/fault-proxy.ts";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import type { JournalEvent } from "../journal/events.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import type { Store } from "../store/store.ts";
import { defineTool } from "../tools/tool.ts";
import { startRun } from "./start-run.ts";
import { createWorker } from "./worker.ts";

const principal = { subject: "tester", tenant: "default", roles: [] };

/**
 * A real store seen through a window: `claimRuns` can be held at a gate and calls are counted. Everything else
 * goes to the store itself.
 */
function observedStore(store: SqlStore, claimGate?: Promise<void>) {
  const counts = { claims: 0, waits: 0 };
  let claimStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    claimStarted = resolve;
  });
  const observed = new Proxy(store, {
    get(target, key) {
      if (key === "claimRuns") {
        return async (options: Parameters<Store["claimRuns"]>[0]) => {
          counts.claims += 1;
          claimStarted();
          await claimGate;
          return await target.claimRuns(options);
        };
      }
      if (key === "waitForWork") {
        return async (options: Parameters<Store["waitForWork"]>[0]) => {
          counts.waits += 1;
          await target.waitForWork(options);
        };
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: observed as Store, counts, claimStarted: started };
}

/** A tool that takes `ms` (honouring its abort signal) and tells the test when it started. */
function slowTool(ms: number, options: { sideEffect?: boolean } = {}) {
  let markStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const tool = defineTool({
    name: "slow",
    description: "Takes its time.",
    input: z.object({}),
    sideEffect: options.sideEffect ?? false,
    async execute(_input, { signal }) {
      markStarted();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      });
      return { done: true };
    },
  });
  return { tool, started };
}

function twoStepAgent(tool: ReturnType<typeof slowTool>["tool"]) {
  return scriptedAgent({
    name: "two-step",
    turns: [
      { kind: "tool-calls", calls: [{ callId: "c1", tool: "slow", arguments: {} }] },
      { kind: "answer", text: "done" },
    ],
    tools: [tool],
    toolTimeout: 60_000,
  });
}

async function leaseOwner(store: SqlStore, runId: string): Promise<string | null> {
  const { rows } = await store.sql.query<{ lease_owner: string | null }>(
    "SELECT lease_owner FROM keel_runs WHERE run_id = $1",
    [runId],
  );
  return rows[0]?.lease_owner ?? null;
}

function typesOf(events: readonly JournalEvent[]): string[] {
  return events.map((event) => event.type);
}

/** A worker on `store` that runs `agent` and logs nothing. */
function quietWorker(
  store: Store,
  agent: ReturnType<typeof twoStepAgent>,
  governor: Awaited<ReturnType<typeof testGovernor>>,
  owner: string,
) {
  return createWorker({ store, agents: () => agent, governor, owner, log: () => undefined });
}

/** Wait (5 s at most) until the run has completed. */
async function untilCompleted(store: Store, runId: string): Promise<void> {
  for (let waited = 0; (await store.getRun(runId))?.status !== "completed"; waited += 1) {
    assert.ok(waited < 250, "the run did not finish in 5 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("a worker stopping", () => {
  let store: SqlStore;

  before(async () => {
    store = await openStore();
  });

  after(async () => {
    await store.close();
  });

  test("stop() during an in-flight claim returns without entering the claim wait and hands the claimed run back", async () => {
    const { tool } = slowTool(0);
    const agent = twoStepAgent(tool);
    const { run } = await startRun({ store, agent, input: "go", principal });
    let openGate: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const observed = observedStore(store, gate);
    const worker = createWorker({
      store: observed.store,
      agents: () => agent,
      governor: await testGovernor([agent]),
      owner: "stopping-during-claim",
      log: () => undefined,
    });
    worker.start();
    await observed.claimStarted;
    const stopping = worker.stop();
    openGate();
    const started = performance.now();
    await stopping;
    const tookMs = performance.now() - started;
    // By structure: the loop never waited after the stop (it used to wait out the full 1 s claim wait)…
    assert.equal(observed.counts.waits, 0);
    assert.ok(tookMs < 900, `stop() took ${Math.round(tookMs)} ms`);
    // …and the run it claimed meanwhile was handed back untouched, for any worker to take now.
    assert.deepEqual(typesOf(await store.readEvents({ runId: run.runId })), ["run-start"]);
    assert.equal(await leaseOwner(store, run.runId), null);
    assert.equal((await store.getRun(run.runId))?.status, "queued");
  });

  test("with a grace period, the step in progress finishes and is journaled, and the lease is released at the boundary", async () => {
    const slow = slowTool(400);
    const agent = twoStepAgent(slow.tool);
    const governor = await testGovernor([agent]);
    const { run } = await startRun({ store, agent, input: "go", principal });
    const first = quietWorker(store, agent, governor, "draining");
    first.start();
    await slow.started;
    await first.stop({ graceMs: 10_000 });
    const drained = await store.readEvents({ runId: run.runId });
    const ends = drained.filter((event) => event.type === "tool-call-end");
    assert.equal(ends.length, 1);
    assert.equal((ends[0]!.payload as { outcome: string }).outcome, "ok");
    // Stopped at the boundary: no model turn was started after the tool's result.
    assert.equal(drained.at(-1)?.type, "tool-call-end");
    assert.equal(await leaseOwner(store, run.runId), null);

    // Released, not left to expire: another worker takes the run over at once and finishes it.
    const second = quietWorker(store, agent, governor, "successor");
    second.start();
    try {
      for (;;) {
        const current = await store.getRun(run.runId);
        if (current?.status === "completed") break;
        await store.waitForEvents({ runId: run.runId, afterSeq: current?.lastSeq ?? 0, timeoutMs: 500 });
      }
    } finally {
      await second.stop();
    }
    const events = await store.readEvents({ runId: run.runId });
    assert.equal(events.filter((event) => event.type === "tool-call-start").length, 1);
  });

  test("a step still running when the grace period ends is interrupted and its lease released", async () => {
    // Side-effecting, so the call's start is durable before it runs (a read-only call's rides with its end).
    const slow = slowTool(60_000, { sideEffect: true });
    const agent = twoStepAgent(slow.tool);
    const { run } = await startRun({ store, agent, input: "go", principal });
    const worker = createWorker({
      store,
      agents: () => agent,
      governor: await testGovernor([agent]),
      owner: "out-of-grace",
      log: () => undefined,
    });
    worker.start();
    await slow.started;
    const started = performance.now();
    await worker.stop({ graceMs: 200 });
    const tookMs = performance.now() - started;
    assert.ok(tookMs >= 190 && tookMs < 5_000, `stop() took ${Math.round(tookMs)} ms`);
    assert.equal(await leaseOwner(store, run.runId), null);
    // The call stays open for the next holder to retry under the same idempotency key.
    assert.equal((await store.readEvents({ runId: run.runId })).at(-1)?.type, "tool-call-start");
  });

  test("a read-only call cut off by a stop leaves nothing of its step; the next worker takes the step again and finishes", async () => {
    const slow = slowTool(60_000);
    const agent = twoStepAgent(slow.tool);
    const governor = await testGovernor([agent]);
    const { run } = await startRun({ store, agent, input: "go", principal });
    const first = quietWorker(store, agent, governor, "cut-off");
    first.start();
    await slow.started;
    await first.stop({ graceMs: 0 });
    // Its start would have ridden with its end: the model turn and the call are not journaled, and nothing claims
    // they happened (a read-only call took no effect, and its result reached no model).
    assert.deepEqual(typesOf(await store.readEvents({ runId: run.runId })), ["run-start"]);
    const fast = slowTool(0);
    const again = twoStepAgent(fast.tool);
    const second = quietWorker(store, again, governor, "again");
    second.start();
    try {
      await fast.started;
      await untilCompleted(store, run.runId);
    } finally {
      await second.stop();
    }
    const events = await store.readEvents({ runId: run.runId });
    assert.equal(events.filter((event) => event.type === "tool-call-start").length, 1);
    assert.equal(events.filter((event) => event.type === "model-call-end").length, 2);
  });

  test("a read-only call that never comes back is stopped after its attempts, though its first attempt left no trace", async () => {
    // Each worker is stopped mid-call, as if the call took its process down. Under the run's first lease the start
    // is not durable; a worker that takes the run over commits it before the call runs, so attempts are counted.
    const slow = slowTool(60_000);
    const agent = twoStepAgent(slow.tool);
    const governor = await testGovernor([agent]);
    const { run } = await startRun({ store, agent, input: "go", principal });
    const starts: number[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const tool = slowTool(60_000);
      const worker = quietWorker(store, twoStepAgent(tool.tool), governor, `crashing-${attempt}`);
      worker.start();
      await tool.started;
      await worker.stop({ graceMs: 0 });
      const events = await store.readEvents({ runId: run.runId });
      starts.push(events.filter((event) => event.type === "tool-call-start").length);
    }
    assert.deepEqual(
      starts,
      [0, 1, 2],
      "the first attempt was not journaled; each after it was, before it ran",
    );
    const last = quietWorker(store, agent, governor, "settler");
    last.start();
    try {
      await untilCompleted(store, run.runId);
    } finally {
      await last.stop();
    }
    const ends = (await store.readEvents({ runId: run.runId })).filter(
      (event) => event.type === "tool-call-end",
    );
    assert.equal(ends.length, 1);
    assert.equal(ends[0]!.type === "tool-call-end" && ends[0]!.payload.error?.code, "interrupted");
  });
});

const serverUrl = testDatabaseServerUrl();

describe("a worker whose store becomes unreachable", {
  skip: serverUrl === null ? "PostgreSQL is not installed on this machine" : false,
}, () => {
  let proxy: FaultProxy;
  let direct: SqlStore;
  let store: SqlStore;

  before(async () => {
    const databaseUrl = await createTestDatabase(serverUrl!);
    direct = await openStore({ databaseUrl });
    proxy = await startFaultProxy(databaseUrl);
    store = await openStore({ databaseUrl: proxy.url });
  });

  after(async () => {
    proxy.restore();
    await store.close();
    await direct.close();
    await proxy.close();
  });

  test("backs off while the store is down, resumes by itself, and completes the run it was in and the runs queued meanwhile", async () => {
    const slow = slowTool(300);
    const agent = twoStepAgent(slow.tool);
    const lines: string[] = [];
    const observed = observedStore(store);
    const worker = createWorker({
      store: observed.store,
      agents: () => agent,
      governor: await testGovernor([agent]),
      owner: "outage-survivor",
      // Short, so a lease the outage left behind frees soon after the store is back.
      leaseTtlMs: 1_000,
      log: (line) => lines.push(line),
    });
    worker.start();
    try {
      const { run: inFlight } = await startRun({ store: direct, agent, input: "in flight", principal });
      await slow.started;
      // The link fails while the tool runs: the result cannot be journaled and the lease cannot be renewed.
      proxy.cut();
      const claimsBefore = observed.counts.claims;
      const queued = await Promise.all(
        ["one", "two", "three"].map(
          async (input) => (await startRun({ store: direct, agent, input, principal })).run.runId,
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const claimsDuringOutage = observed.counts.claims - claimsBefore;
      proxy.restore();
      // Backoff, not a spin: 100, 200, 400, 800 ms… is a handful of attempts in two seconds, not thousands.
      assert.ok(claimsDuringOutage <= 8, `${claimsDuringOutage} claims during a 2 s outage`);
      assert.ok(
        lines.filter((line) => line.includes("the store is unreachable")).length <= 3,
        lines.join("\n"),
      );
      for (const runId of [inFlight.runId, ...queued]) {
        const deadline = Date.now() + 20_000;
        for (;;) {
          const current = await direct.getRun(runId);
          if (current?.status === "completed") break;
          assert.ok(
            current && ["queued", "running"].includes(current.status),
            `run ${runId} is ${current?.status}`,
          );
          assert.ok(Date.now() < deadline, `run ${runId} did not complete after the outage`);
          await direct.waitForEvents({ runId, afterSeq: current.lastSeq, timeoutMs: 500 });
        }
      }
      assert.ok(
        lines.some((line) => line.includes("claiming resumed")),
        lines.join("\n"),
      );
    } finally {
      proxy.restore();
      await worker.stop();
    }
  });
});
