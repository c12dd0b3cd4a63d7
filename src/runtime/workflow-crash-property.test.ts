import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import {
  agentFor,
  type GraphShape,
  graphShapes,
  noterFor,
  type World,
} from "../../test/support/random-workflows.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import type { JournalEvent } from "../journal/events.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import type { Store } from "../store/store.ts";
import { sendSignal } from "./send-signal.ts";
import { startRun } from "./start-run.ts";
import { createWorker, type Worker } from "./worker.ts";

// Random valid workflow graphs (test/support/random-workflows.ts), each run three times on a fresh run tree: once
// without interruption, then twice with the worker crashing at one journal commit of the parent or of one of its
// child runs — once just before the commit is written (what it staged is lost), once just after (the commit is
// durable, the worker never learns it). The crashed tree is resumed from the store alone by the worker re-claiming
// the run. Each must end as the uninterrupted tree did: every run with the same status, answer and journal, apart
// from timing and the records of recovery, and every side effect — the parent's and its children's — applied and
// run exactly once.

const principal = { subject: "tester", tenant: "default", roles: [] };

class Crash extends Error {}

/** Where the crash hits: the `at`-th commit of the run labelled `run` (or its last, if it makes fewer). */
type CrashPoint = { run: string; at: number; when: "before" | "after" };

/** Commits seen per run label, and whether the crash happened. */
type Counted = { commits: Map<string, number>; crashed: boolean };

/**
 * The store as a worker sees it, crashing once at one journal commit of one run of the tree: before it is written,
 * or after. A run is named by its label (see `labelOf`), the same in both executions; a crash aimed past a run's
 * last commit hits its `run-end` instead. Everything else passes through; after the crash the store behaves
 * normally again, as after a restart.
 */
function crashingStore(store: SqlStore, crash: CrashPoint | null, counted: Counted): Store {
  const labels = new Map<string, string>();
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== "append") {
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (request: Parameters<Store["append"]>[0]) => {
        const runId = request.lease.runId;
        let label = labels.get(runId);
        if (label === undefined) {
          label = await labelOf(target, runId);
          labels.set(runId, label);
        }
        const seen = (counted.commits.get(label) ?? 0) + 1;
        counted.commits.set(label, seen);
        const ends = request.events.some((event) => event.type === "run-end");
        const crashHere =
          crash !== null && !counted.crashed && crash.run === label && (seen === crash.at || ends);
        if (crashHere) counted.crashed = true;
        if (crashHere && crash.when === "before") throw new Crash("crashed before the commit");
        const written = await target.append(request);
        if (crashHere && crash.when === "after") throw new Crash("crashed after the commit");
        return written;
      };
    },
  });
}

/**
 * A run's name that does not depend on its id, the same in every execution: `root`, or a child's idempotency key
 * (`<parent>:<node>.<visit>.<branch>`) with its parent's id replaced by the parent's name.
 */
async function labelOf(store: Store, runId: string): Promise<string> {
  const run = await store.getRun(runId);
  if (!run?.parentRunId) return "root";
  return (run.idempotencyKey ?? runId).split(run.parentRunId).join(await labelOf(store, run.parentRunId));
}

let store: SqlStore;
before(async () => {
  store = await openStore({});
});
after(async () => {
  await store.close();
});

/** One run of a tree as the comparison sees it. */
type RunOutcome = { status: string; answer: string | null; events: JournalEvent[] };

type TreeOutcome = {
  runs: Map<string, RunOutcome>;
  /** Every run id of the tree, by its label. */
  ids: Map<string, string>;
  world: World;
  counted: Counted;
};

const ENDED = ["completed", "failed", "cancelled", "budget_exceeded"];

async function runOnce(shape: GraphShape, crash: CrashPoint | null): Promise<TreeOutcome> {
  const counted: Counted = { commits: new Map(), crashed: false };
  const world: World = { applied: new Map(), executions: new Map() };
  const agent = agentFor(shape, world);
  const noter = noterFor(world);
  const agents = [agent, noter];
  const governor = await testGovernor(agents);
  const worker = createWorker({
    store: crashingStore(store, crash, counted),
    agents: (name) => agents.find((each) => each.name === name),
    agentNamed: (name) => agents.find((each) => each.name === name),
    governor,
    owner: "property",
    leaseTtlMs: 5_000,
    log: () => undefined,
  });
  const input = JSON.stringify({ x: shape.input, items: shape.items });
  const { run } = await startRun({ store, agent, input, principal });
  worker.start();
  try {
    for (let waited = 0; waited < 20_000; waited += 5) {
      const current = await store.getRun(run.runId);
      if (current && ENDED.includes(current.status)) return await outcomeOf(run.runId, world, counted);
      if (current?.status === "suspended") await wakeWaits(run.runId, worker);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`run ${run.runId} did not end`);
  } finally {
    await worker.stop();
  }
}

/**
 * Send the signal a suspended run waits for, once it waits, so it arrives at the same point in both executions; and
 * once its timer is due, wake the worker's claim loop (which otherwise looks for due timers once a second).
 */
async function wakeWaits(runId: string, worker: Worker): Promise<void> {
  const events = await store.readEvents({ runId });
  const last = events.findLast((event) => event.type === "run-suspend" || event.type === "run-resume");
  if (last?.type !== "run-suspend") return;
  for (const name of last.payload.wait?.signals ?? []) {
    await sendSignal({ store, runId, name, by: principal, idempotencyKey: `${runId}:${name}` });
  }
  const until = last.payload.wait?.until;
  if (until !== undefined && Date.parse(until) <= Date.now()) worker.poke();
}

async function outcomeOf(rootId: string, world: World, counted: Counted): Promise<TreeOutcome> {
  const tree = await store.getRunTree({ runId: rootId });
  assert.ok(tree && !tree.truncated);
  const runs = new Map<string, RunOutcome>();
  const ids = new Map<string, string>();
  const visit = async (node: typeof tree.root) => {
    const label = await labelOf(store, node.run.runId);
    ids.set(label, node.run.runId);
    runs.set(label, {
      status: node.run.status,
      answer: node.run.answer,
      events: await store.readEvents({ runId: node.run.runId }),
    });
    for (const child of node.children) await visit(child);
  };
  await visit(tree.root);
  return { runs, ids, world, counted };
}

/**
 * The keys that carry time, a fresh capability, a trace, a hash or a position in the journal (which the records of
 * recovery shift, such as the `seq` of the signal a wait took): not what the journal says happened.
 */
const VARYING = new Set([
  "seq",
  "at",
  "runId",
  "startedAt",
  "deadlineAt",
  "durationMs",
  "capabilityId",
  "hash",
  "traceparent",
  "until",
  "dueAt",
]);

/** A time written into a text, such as a wait's reason. */
const ISO_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g;

/** Every run id of a tree replaced by its label in a string. */
function relabel(text: string, ids: Map<string, string>): string {
  let result = text;
  for (const [label, runId] of ids) result = result.split(runId).join(`<${label}>`);
  return result;
}

/** The branch an event of a fan-out belongs to, or "" for one that is not a branch's. */
function branchOf(event: JournalEvent, node: string, visit: number): string {
  const payload = event.payload as { branch?: unknown; callId?: unknown };
  if (typeof payload.branch === "string") return payload.branch;
  const prefix = `${node}.${visit}.`;
  if (typeof payload.callId === "string" && payload.callId.startsWith(prefix)) {
    return payload.callId.slice(prefix.length);
  }
  return "";
}

/**
 * A journal as a list of what happened, without timing: run ids replaced by labels; times, capabilities, traces
 * and hashes dropped; the records of recovery removed — a resumed worker's `run-resume`, and the retry of a call
 * whose first attempt was interrupted before its end was durable (the retry's decision, `retry: true`, and its
 * start, `attempt` > 1). Timing also decides when a parent waiting on children suspends and is woken, and in what
 * order branches running at once interleave, so those suspends and every `run-resume` are dropped, and inside a
 * node each branch's events are kept in their order but grouped by branch.
 */
function normalize(events: readonly JournalEvent[], ids: Map<string, string>): unknown[] {
  const strip = (value: unknown): unknown => {
    if (typeof value === "string") return relabel(value, ids).replace(ISO_TIME, "<time>");
    if (Array.isArray(value)) return value.map(strip);
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value)
          .filter(([key]) => !VARYING.has(key) && !key.endsWith("Hash"))
          .map(([key, item]) => [key, strip(item)]),
      );
    }
    return value;
  };
  const kept = events.filter((event) => {
    if (event.type === "run-resume") return false;
    if (event.type === "run-suspend" && event.payload.wait?.children !== undefined) return false;
    if (event.type === "policy-decision" && event.payload.retry === true) return false;
    if (event.type === "tool-call-start" && event.payload.attempt > 1) return false;
    return true;
  });
  const ordered: JournalEvent[] = [];
  let open: { node: string; visit: number; events: JournalEvent[] } | null = null;
  for (const event of kept) {
    if (event.type === "node-start") {
      open = { node: event.payload.node, visit: event.payload.visit, events: [] };
      ordered.push(event);
      continue;
    }
    if (open === null) {
      ordered.push(event);
      continue;
    }
    if (event.type === "node-end" || event.type === "run-end") {
      const { node, visit } = open;
      const branches = open.events.map((each) => branchOf(each, node, visit));
      const order = open.events.map((_, index) => index);
      order.sort((a, b) => (branches[a]! < branches[b]! ? -1 : branches[a]! > branches[b]! ? 1 : a - b));
      ordered.push(...order.map((index) => open!.events[index]!), event);
      open = null;
      continue;
    }
    open.events.push(event);
  }
  if (open) ordered.push(...open.events);
  return ordered.map((event) => {
    const payload = strip(event.payload) as Record<string, unknown>;
    delete payload.attempt;
    delete payload.reconciled;
    return { type: event.type, payload };
  });
}

/** The total number of commits a tree made. */
const commitsOf = (counted: Counted) => [...counted.commits.values()].reduce((sum, n) => sum + n, 0);

/** The commit a fraction of the way through the clean tree's commits lands on, as a run label and its n-th commit. */
function crashPointAt(counted: Counted, fraction: number, when: "before" | "after"): CrashPoint {
  let index = Math.floor(fraction * commitsOf(counted));
  for (const [run, commits] of [...counted.commits].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (index < commits) return { run, at: index + 1, when };
    index -= commits;
  }
  throw new Error("no commit to crash at");
}

/** Assert that a tree crashed at `crash` ended as the uninterrupted one did, each side effect applied once. */
function assertSameTree(crashed: TreeOutcome, clean: TreeOutcome, crash: CrashPoint): void {
  const at = JSON.stringify(crash);
  assert.ok(crashed.counted.crashed, `the tree crashed at ${at}`);
  assert.deepEqual(
    [...crashed.runs.keys()].sort(),
    [...clean.runs.keys()].sort(),
    `the same runs, crashed at ${at}`,
  );
  for (const [label, expected] of clean.runs) {
    const actual = crashed.runs.get(label)!;
    assert.equal(actual.status, expected.status, `${label}'s status, crashed at ${at}`);
    assert.equal(
      relabel(actual.answer ?? "", crashed.ids),
      relabel(expected.answer ?? "", clean.ids),
      `${label}'s answer, crashed at ${at}`,
    );
    assert.deepEqual(
      normalize(actual.events, crashed.ids),
      normalize(expected.events, clean.ids),
      `${label}'s journal, crashed at ${at}`,
    );
  }
  // Exactly once: the same lines applied under the same keys, and every applied line's tool ran once — a call in
  // doubt after the crash is settled by its reconcile hook, not run again. (A refused line may be asked again: it
  // applied nothing.)
  const applied = (outcome: TreeOutcome) =>
    [...outcome.world.applied]
      .map(([key, line]) => [relabel(key, outcome.ids), relabel(line, outcome.ids)])
      .sort();
  assert.deepEqual(applied(crashed), applied(clean), `the effects applied, crashed at ${at}`);
  for (const key of crashed.world.applied.keys()) {
    assert.equal(
      crashed.world.executions.get(key),
      1,
      `${relabel(key, crashed.ids)} ran once, crashed at ${at}`,
    );
  }
}

describe("a workflow run crashed at any commit of its tree", () => {
  test("ends in the same state with the same journals (minus timing and recovery) as one never interrupted, side effects once", async () => {
    await fc.assert(
      fc.asyncProperty(
        graphShapes,
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        async (shape, fraction) => {
          const clean = await runOnce(shape, null);
          for (const key of clean.world.applied.keys()) assert.equal(clean.world.executions.get(key), 1);
          // One of the commits the clean tree made, chosen uniformly over the parent's and the children's; the tree
          // is run again crashing just before it, and again crashing just after it.
          for (const when of ["before", "after"] as const) {
            const crash = crashPointAt(clean.counted, fraction, when);
            assertSameTree(await runOnce(shape, crash), clean, crash);
          }
        },
      ),
      // More for a longer search: KEEL_PROPERTY_RUNS=500 npm test -- src/runtime/workflow-crash-property.test.ts
      { numRuns: Number(process.env.KEEL_PROPERTY_RUNS ?? 20) },
    );
  });
});
