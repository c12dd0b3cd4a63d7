import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { z } from "zod";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import type { JournalEvent } from "../journal/events.ts";
import { createScriptedModelProvider } from "../models/scripted-model-provider.ts";
import { defineWorkflow, type WorkflowSpecInput } from "../spec/index.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import type { Store } from "../store/store.ts";
import { defineTool, type Tool } from "../tools/tool.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { startRun } from "./start-run.ts";
import { createWorker } from "./worker.ts";

// Random valid workflow graphs, each run twice on a fresh run: once without interruption, and once with the worker
// crashing at a random journal commit — either just before the commit is written (what it staged is lost) or
// just after (the commit is durable, the worker never learns it). The crashed run is then resumed from the store
// alone by the worker re-claiming it. Both must end in the same state, with the same journal apart from timing
// and the records of recovery, and every side effect applied exactly once.

const principal = { subject: "tester", tenant: "default", roles: [] };

/** One generated node: what it does, and the indexes of later nodes it goes to (forward only: every graph ends). */
type NodeShape =
  | { kind: "add"; next: number }
  | { kind: "record"; next: number }
  | { kind: "branch"; threshold: number; above: number; otherwise: number }
  | { kind: "decide"; left: number; right: number };

type GraphShape = { nodes: NodeShape[]; input: number };

/** A later node's index, or one of the two end nodes (n and n + 1), from a random fraction. */
function later(from: number, count: number, pick: number): number {
  const choices = count + 2 - (from + 1);
  return from + 1 + Math.min(choices - 1, Math.floor(pick * choices));
}

const graphShapes: fc.Arbitrary<GraphShape> = fc
  .record({
    kinds: fc.array(fc.constantFrom("add", "record", "branch", "decide"), { minLength: 1, maxLength: 7 }),
    picks: fc.array(
      fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
      {
        minLength: 7,
        maxLength: 7,
      },
    ),
    thresholds: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 7, maxLength: 7 }),
    input: fc.integer({ min: 1, max: 9 }),
  })
  .map(({ kinds, picks, thresholds, input }) => ({
    input,
    nodes: kinds.map((kind, index): NodeShape => {
      const [first, second] = picks[index]!;
      const count = kinds.length;
      switch (kind) {
        case "add":
        case "record":
          return { kind, next: later(index, count, first) };
        case "branch":
          return {
            kind,
            threshold: thresholds[index]!,
            above: later(index, count, first),
            otherwise: later(index, count, second),
          };
        default:
          return { kind: "decide", left: later(index, count, first), right: later(index, count, second) };
      }
    }),
  }));

function nodeName(index: number, count: number): string {
  if (index === count) return "finish";
  if (index === count + 1) return "stop";
  return `n${index}`;
}

/** The workflow a shape describes: a counter every `add` raises, a list every `record` appends to. */
function workflowOf(shape: GraphShape) {
  const count = shape.nodes.length;
  const nodes: WorkflowSpecInput["nodes"] = {};
  for (const [index, node] of shape.nodes.entries()) {
    const name = nodeName(index, count);
    switch (node.kind) {
      case "add":
        nodes[name] = {
          tool: { name: "add", args: { amount: "${input.x}" } },
          writes: "total",
          next: nodeName(node.next, count),
        };
        break;
      case "record":
        nodes[name] = {
          tool: { name: "record", args: { note: `${name} at \${state.total}` } },
          writes: "notes",
          next: nodeName(node.next, count),
        };
        break;
      case "branch":
        nodes[name] = {
          branch: [
            { when: `state.total > ${node.threshold}`, to: nodeName(node.above, count) },
            { else: nodeName(node.otherwise, count) },
          ],
        };
        break;
      case "decide":
        nodes[name] = {
          decide: {
            prompt: "Pick a side.",
            input: "total ${state.total}",
            labels: ["left", "right"],
            fallback: "stop",
          },
          writes: "side",
          next: { left: nodeName(node.left, count), right: nodeName(node.right, count) },
        };
        break;
    }
  }
  nodes.finish = { end: { output: "finished with ${state.total}, ${state.notes}" } };
  nodes.stop = { end: { output: "stopped with ${state.total}" } };
  // Nodes no edge reaches are left out, as validation requires; start is always n0.
  const reachable = new Set<string>();
  const queue = ["n0"];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (reachable.has(name)) continue;
    reachable.add(name);
    const node = nodes[name]!;
    if (node.branch) for (const item of node.branch) queue.push("to" in item ? item.to : item.else);
    if (node.decide) queue.push(node.decide.fallback);
    if (typeof node.next === "string") queue.push(node.next);
    else if (node.next) queue.push(...Object.values(node.next));
  }
  return defineWorkflow({
    name: "random-graph",
    version: "1.0.0",
    description: "A generated workflow.",
    owner: { team: "qa" },
    riskTier: 3,
    // Declared because decide nodes ask a model; the agent's scripted model is what answers them.
    model: { provider: "rules", id: "rules" },
    state: {
      total: { type: "integer", reducer: "sum", default: 0 },
      notes: { type: "array", reducer: "append", default: [] },
      side: { type: "string" },
    },
    start: "n0",
    nodes: Object.fromEntries(Object.entries(nodes).filter(([name]) => reachable.has(name))),
    limits: { maxSteps: 20 },
  });
}

/** The world the side-effecting tool acts on: what it applied, and how often it ran, by idempotency key. */
type World = { applied: Map<string, string>; executions: Map<string, number> };

function toolsFor(world: World): Tool[] {
  const add = defineTool({
    name: "add",
    description: "Returns the amount, for the state's sum.",
    input: z.object({ amount: z.number().int() }),
    output: z.number().int(),
    async execute({ amount }) {
      return amount;
    },
  });
  const record = defineTool({
    name: "record",
    description: "Records a note once per idempotency key.",
    input: z.object({ note: z.string() }),
    output: z.string(),
    sideEffect: true,
    async execute({ note }, { idempotencyKey }) {
      world.executions.set(idempotencyKey, (world.executions.get(idempotencyKey) ?? 0) + 1);
      if (!world.applied.has(idempotencyKey)) world.applied.set(idempotencyKey, note);
      return world.applied.get(idempotencyKey)!;
    },
    async reconcile(_input, { idempotencyKey }) {
      const note = world.applied.get(idempotencyKey);
      return note === undefined ? { applied: false } : { applied: true, result: note };
    },
  });
  return [add, record];
}

function agentFor(shape: GraphShape, world: World): AgentDefinition {
  // The decision follows the subject's number: even totals go left. Deterministic, so both runs decide alike.
  const model = createScriptedModelProvider({
    turns: (request) => {
      const subject = String(request.messages.at(-1)?.content ?? "");
      const total = Number(/total (\d+)/.exec(subject)?.[1] ?? 0);
      return { kind: "answer", text: total % 2 === 0 ? "left" : "right" };
    },
  });
  return {
    ...scriptedAgent({ name: "random-graph", turns: [], tools: toolsFor(world), maxSteps: 20 }),
    provider: model,
    workflow: workflowOf(shape),
  };
}

class Crash extends Error {}

/**
 * The store as a worker sees it, crashing once at the `at`-th journal commit: before it is written, or after.
 * Everything else passes through; after the crash the store behaves normally again, as after a restart.
 */
function crashingStore(
  store: SqlStore,
  crash: { at: number; when: "before" | "after" } | null,
  counted: { commits: number; crashed: boolean },
): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== "append") {
        const value = Reflect.get(target, property, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (request: Parameters<Store["append"]>[0]) => {
        counted.commits += 1;
        const crashHere = crash !== null && counted.commits === crash.at;
        if (crashHere) counted.crashed = true;
        if (crashHere && crash.when === "before") throw new Crash("crashed before the commit");
        const written = await target.append(request);
        if (crashHere && crash.when === "after") throw new Crash("crashed after the commit");
        return written;
      };
    },
  });
}

let store: SqlStore;
before(async () => {
  store = await openStore({});
});
after(async () => {
  await store.close();
});

async function runOnce(
  shape: GraphShape,
  crash: { at: number; when: "before" | "after" } | null,
): Promise<{
  events: JournalEvent[];
  status: string;
  answer: string | null;
  world: World;
  counted: { commits: number; crashed: boolean };
}> {
  const counted = { commits: 0, crashed: false };
  const world: World = { applied: new Map(), executions: new Map() };
  const agent = agentFor(shape, world);
  const governor = await testGovernor([agent]);
  const worker = createWorker({
    store: crashingStore(store, crash, counted),
    agents: (name) => (name === agent.name ? agent : undefined),
    governor,
    owner: "property",
    leaseTtlMs: 5_000,
    log: () => undefined,
  });
  const { run } = await startRun({ store, agent, input: JSON.stringify({ x: shape.input }), principal });
  worker.start();
  try {
    for (let waited = 0; waited < 10_000; waited += 5) {
      const current = await store.getRun(run.runId);
      if (current && ["completed", "failed", "cancelled"].includes(current.status)) {
        return {
          events: await store.readEvents({ runId: run.runId }),
          status: current.status,
          answer: current.answer,
          world,
          counted,
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`run ${run.runId} did not end`);
  } finally {
    await worker.stop();
  }
}

/** The keys that carry time, the run's identity, a fresh capability or a hash: not what the journal says happened. */
const VARYING = new Set(["at", "runId", "startedAt", "deadlineAt", "durationMs", "capabilityId", "hash"]);

/**
 * A journal as a list of what happened, without timing: run ids replaced, times, capabilities and hashes dropped,
 * and the records of recovery removed — a resumed worker's `run-resume`, and the retry of a call whose first
 * attempt was interrupted before its end was durable (the retry's decision, `retry: true`, and its start,
 * `attempt` > 1).
 */
function normalize(events: readonly JournalEvent[], runId: string): unknown[] {
  const strip = (value: unknown): unknown => {
    if (typeof value === "string") return value.split(runId).join("<run>");
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
  return events.flatMap((event) => {
    if (event.type === "run-resume") return [];
    if (event.type === "policy-decision" && event.payload.retry === true) return [];
    if (event.type === "tool-call-start" && event.payload.attempt > 1) return [];
    const payload = strip(event.payload) as Record<string, unknown>;
    delete payload.attempt;
    delete payload.reconciled;
    return [{ type: event.type, payload }];
  });
}

describe("a workflow run crashed at any commit", () => {
  test("ends in the same state with the same journal (minus timing and recovery) as one never interrupted, side effects once", async () => {
    await fc.assert(
      fc.asyncProperty(
        graphShapes,
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        fc.constantFrom("before", "after"),
        async (shape, at, when) => {
          const clean = await runOnce(shape, null);
          // A crash at one of the commits the clean run made, chosen uniformly.
          const crashAt = 1 + Math.floor(at * clean.counted.commits);
          const crashed = await runOnce(shape, { at: crashAt, when: when as "before" | "after" });
          assert.ok(crashed.counted.crashed, `the run crashed at commit ${crashAt}`);
          assert.equal(crashed.status, clean.status);
          assert.equal(crashed.answer, clean.answer);
          assert.deepEqual(
            normalize(crashed.events, crashed.events[0]!.runId),
            normalize(clean.events, clean.events[0]!.runId),
          );
          // Exactly once: the same notes applied; a note's tool ran once per key, but for the one call the crash
          // may have caught mid-flight (started, its end not yet durable), which the resumed run asked again.
          const rekey = (world: World, runId: string) =>
            [...world.applied].map(([key, note]) => [
              key.split(runId).join("<run>"),
              note.split(runId).join("<run>"),
            ]);
          assert.deepEqual(
            rekey(crashed.world, crashed.events[0]!.runId),
            rekey(clean.world, clean.events[0]!.runId),
          );
          const executions = (world: World) => [...world.executions.values()].reduce((sum, n) => sum + n, 0);
          assert.equal(executions(clean.world), clean.world.applied.size);
          assert.ok(
            executions(crashed.world) - crashed.world.applied.size <= 1,
            "at most the call in flight ran again",
          );
        },
      ),
      { numRuns: 30 },
    );
  });
});
