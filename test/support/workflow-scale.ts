/**
 * Workflows at scale, run by real workers on a real store in this process, with the live heap sampled after forced
 * collections: a `map` over many items (tool branches, or agent branches that are child runs), and a parent
 * suspended over many child runs that each wait for a signal. The test (`src/runtime/workflow-scale.test.ts`) runs
 * them small and asserts on slopes; `bench/workflows/scale.ts` runs them at full size and prints every sample.
 */
import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import type { AgentDefinition } from "../../src/runtime/agent-definition.ts";
import { sendSignal } from "../../src/runtime/send-signal.ts";
import { startRun } from "../../src/runtime/start-run.ts";
import { createWorker, type Worker } from "../../src/runtime/worker.ts";
import { defineWorkflow, type WorkflowDefinition } from "../../src/spec/index.ts";
import type { Store } from "../../src/store/index.ts";
import { defineTool, type Tool } from "../../src/tools/tool.ts";
import { bytesPerUnit, type HeapSample, liveHeapBytes, MiB, settledHeapBytes } from "./heap-samples.ts";
import { scriptedAgent } from "./scripted-agent.ts";
import { testGovernor } from "./test-governor.ts";

const principal = { subject: "scale", tenant: "default", roles: [] };

/** A workflow as a served agent: no model is asked (these workflows have no decide node). */
function workflowAgent(workflow: WorkflowDefinition, tools: Tool[] = []): AgentDefinition {
  return {
    ...scriptedAgent({ name: workflow.name, turns: [], tools, maxSteps: 10, runTimeout: 30 * 60_000 }),
    workflow,
  };
}

function workflow(
  name: string,
  spec: Omit<Parameters<typeof defineWorkflow>[0], "name" | "version" | "owner" | "riskTier">,
) {
  return defineWorkflow({ ...spec, name, version: "1.0.0", owner: { team: "qa" }, riskTier: 3 });
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function endedRun(store: Store, runId: string, timeoutMs: number) {
  return await until(`run ${runId} to end`, timeoutMs, async () => {
    const run = await store.getRun(runId);
    return run && ["completed", "failed", "cancelled", "budget_exceeded"].includes(run.status)
      ? run
      : undefined;
  });
}

export type MapScaleResult = {
  items: number;
  branches: "tool" | "agent";
  status: string;
  /** Every item's output, in item order, was the answer. */
  outputsCorrect: boolean;
  /** The live heap with the worker started and idle, before the run. */
  baselineBytes: number;
  /** The live heap at every `sampleEvery` items done, while the map ran. */
  samples: HeapSample[];
  /** The least-squares growth of the live heap per item done, while the map ran. */
  bytesPerItem: number;
  /** The highest sample less the baseline. */
  peakGrowthBytes: number;
  /** The live heap once the run completed and its worker let it go, less the baseline. */
  retainedBytes: number;
  /** Each item's output as JSON, in bytes (what the run's state legitimately holds per item). */
  outputBytes: number;
  durationMs: number;
};

/**
 * A `map` over `items` numbers, each branch doubling its number and returning it with a `padding`-character label:
 * a governed tool call in the run (`tool`), or a child run of a one-node workflow that makes that call (`agent`),
 * at most `concurrency` at once. The heap is sampled (after collections) from inside the tool, every `sampleEvery`
 * calls, so each sample is at a known count of items done.
 */
export async function mapAtScale(options: {
  store: Store;
  items: number;
  branches: "tool" | "agent";
  concurrency: number;
  sampleEvery: number;
  padding?: number;
  timeoutMs?: number;
}): Promise<MapScaleResult> {
  const { store, items, sampleEvery } = options;
  const label = "x".repeat(options.padding ?? 64);
  const samples: HeapSample[] = [];
  let calls = 0;
  const double = defineTool({
    name: "double",
    description: "Doubles a number.",
    input: z.object({ n: z.number() }),
    async execute({ n }) {
      calls += 1;
      if (calls % sampleEvery === 0) samples.push({ at: calls, heapBytes: liveHeapBytes() });
      return { n: n * 2, label };
    },
  });
  const doubler = workflowAgent(
    workflow("scale-doubler", {
      description: "Doubles one number.",
      state: { doubled: { type: "object" } },
      start: "double",
      nodes: {
        double: { tool: { name: "double", args: { n: "${input.n}" } }, writes: "doubled", next: "done" },
        done: { end: { output: "${state.doubled}" } },
      },
      limits: { maxSteps: 5 },
    }),
    [double],
  );
  const body =
    options.branches === "tool"
      ? { tool: { name: "double", args: { n: "${item.n}" } } }
      : { agent: { name: doubler.name, input: "${item}" } };
  const parent = workflowAgent(
    workflow(`scale-map-${options.branches}`, {
      description: `Doubles ${items} numbers, one ${options.branches} branch each.`,
      state: { results: { type: "array" } },
      start: "each",
      nodes: {
        each: {
          map: { over: "input.items", do: body, concurrency: options.concurrency },
          writes: "results",
          next: "done",
        },
        done: { end: { output: "${state.results}" } },
      },
      limits: { maxSteps: 5 },
    }),
    options.branches === "tool" ? [double] : [],
  );
  const agents = [parent, doubler];
  const worker = createWorker({
    store,
    agents: (name) => agents.find((agent) => agent.name === name),
    agentNamed: (name) => agents.find((agent) => agent.name === name),
    governor: await testGovernor(agents),
    owner: `scale-map-${options.branches}`,
  });
  worker.start();
  try {
    const input = JSON.stringify({ items: Array.from({ length: items }, (_, n) => ({ n })) });
    const baselineBytes = liveHeapBytes();
    const started = performance.now();
    const { run } = await startRun({ store, agent: parent, input, principal });
    worker.poke();
    const ended = await endedRun(store, run.runId, options.timeoutMs ?? 10 * 60_000);
    const durationMs = performance.now() - started;
    await until("the worker to let the run go", 10_000, async () =>
      worker.activeRuns === 0 ? true : undefined,
    );
    const answer = ended.answer;
    const retainedBytes = liveHeapBytes() - baselineBytes;
    let outputsCorrect = false;
    if (ended.status === "completed" && answer !== null) {
      // A tool branch's output is its result; an agent branch's is the child's answer, the result as JSON text.
      const outputs = JSON.parse(answer) as unknown[];
      outputsCorrect =
        outputs.length === items &&
        outputs.every((output, n) => {
          const value = typeof output === "string" ? (JSON.parse(output) as unknown) : output;
          // Compared as values: the answer is written as canonical JSON, its fields sorted.
          return isDeepStrictEqual(value, { n: n * 2, label });
        });
    }
    return {
      items,
      branches: options.branches,
      status: ended.status,
      outputsCorrect,
      baselineBytes,
      samples,
      bytesPerItem: bytesPerUnit(samples),
      peakGrowthBytes: Math.max(...samples.map((sample) => sample.heapBytes)) - baselineBytes,
      retainedBytes,
      outputBytes: JSON.stringify({ n: items * 2, label }).length,
      durationMs,
    };
  } finally {
    await worker.stop();
  }
}

export type WaitingChildrenResult = {
  children: number;
  /** The live heap with both workers idle, before the parent started. */
  idleBytes: number;
  /** The parent suspended over its children, none of them claimed yet, less `idleBytes`. */
  parentSuspendedBytes: number;
  /** The live heap at each count of children suspended on their signal (the first at 0), the parent suspended. */
  samples: HeapSample[];
  /** The least-squares growth of the live heap per suspended child. */
  bytesPerChild: number;
  /** The parent's status once every child was signalled, and whether its answer held every child's payload in order. */
  status: string;
  answerCorrect: boolean;
  /** Phases, in milliseconds: the parent starting its children and suspending; the children suspending; signals to the end. */
  timings: { startChildrenMs: number; suspendChildrenMs: number; settleMs: number };
};

/**
 * A parent whose `map` starts `children` child runs, each of a workflow that waits for the signal `go`, and
 * suspends on them. One worker serves the parent only; a second, started once the parent has suspended, serves the
 * children, so every sample is taken with the parent suspended. The heap is sampled each time `sampleEvery` more
 * children have suspended, with the children's worker stopped (nothing in flight); then each child is sent `go` with its index as payload, and the parent must complete
 * with every payload in item order.
 */
export async function waitingChildrenAtScale(options: {
  store: Store;
  children: number;
  sampleEvery: number;
  signalConcurrency?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}): Promise<WaitingChildrenResult> {
  const { store, children, sampleEvery } = options;
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const log = options.log ?? (() => undefined);
  const waiter = workflowAgent(
    workflow("scale-waiter", {
      description: "Waits for the signal go and answers with its payload.",
      state: { payload: { type: "string" } },
      start: "hold",
      nodes: {
        hold: { wait: { signal: "go" }, writes: "payload", next: "done" },
        done: { end: { output: "${state.payload}" } },
      },
      limits: { maxSteps: 5 },
    }),
  );
  const parent = workflowAgent(
    workflow("scale-parent", {
      description: `Starts ${children} waiting children and joins their answers.`,
      state: { released: { type: "array" } },
      start: "each",
      nodes: {
        each: {
          map: { over: "input.items", do: { agent: { name: waiter.name, input: "${item}" } } },
          writes: "released",
          next: "done",
        },
        done: { end: { output: "${state.released}" } },
      },
      limits: { maxSteps: 5 },
    }),
  );
  const agents = [parent, waiter];
  const governor = await testGovernor(agents);
  const serve = (agent: AgentDefinition) =>
    createWorker({
      store,
      agents: (name) => agents.find((each) => each.name === name),
      agentNamed: (name) => agents.find((each) => each.name === name),
      governor,
      owner: `scale-${agent.name}`,
      claimAgents: [agent.name],
    });
  const parentWorker = serve(parent);
  const workers: Worker[] = [parentWorker];
  parentWorker.start();
  try {
    const idleBytes = await settledHeapBytes();
    let phase = performance.now();
    const input = JSON.stringify({ items: Array.from({ length: children }, (_, index) => index) });
    const { run } = await startRun({ store, agent: parent, input, principal });
    parentWorker.poke();
    const count = async (status: string) => {
      const { rows } = await store.sql.query<{ count: number }>(
        "SELECT count(*)::int AS count FROM keel_runs WHERE parent_run_id = $1 AND status = $2",
        [run.runId, status],
      );
      return rows[0]!.count;
    };
    await until("the parent to suspend on its children", timeoutMs, async () => {
      const current = await store.getRun(run.runId);
      if (
        current &&
        current.status !== "running" &&
        current.status !== "queued" &&
        current.status !== "suspended"
      )
        throw new Error(`the parent ended ${current.status}: ${JSON.stringify(current.error)}`);
      return current?.status === "suspended" && parentWorker.activeRuns === 0 ? true : undefined;
    });
    const startChildrenMs = performance.now() - phase;
    const queued = await count("queued");
    if (queued !== children) throw new Error(`the parent started ${queued} children, not ${children}`);
    const samples: HeapSample[] = [{ at: 0, heapBytes: await settledHeapBytes() }];
    log(`parent suspended over ${children} queued children in ${startChildrenMs.toFixed(0)} ms`);
    phase = performance.now();
    // Children are taken by a worker of their own, stopped at each sample so that nothing is in flight when the heap
    // is read: what is left then is what the process holds for the runs that wait.
    for (let next = sampleEvery; ; next += sampleEvery) {
      const target = Math.min(next, children);
      const childWorker = serve(waiter);
      workers.push(childWorker);
      childWorker.start();
      await until(`${target} children to suspend`, timeoutMs, async () =>
        (await count("suspended")) >= target ? true : undefined,
      );
      await childWorker.stop();
      workers.pop();
      const suspended = await count("suspended");
      samples.push({ at: suspended, heapBytes: await settledHeapBytes() });
      log(`${suspended} children suspended: live heap ${MiB(samples.at(-1)!.heapBytes)}`);
      if (suspended >= children) break;
      next = Math.max(next, Math.floor(suspended / sampleEvery) * sampleEvery);
    }
    const suspendChildrenMs = performance.now() - phase;
    phase = performance.now();
    const childIds = new Map<number, string>();
    let after: string | undefined;
    for (;;) {
      const page = await store.listChildren({ runId: run.runId, limit: 1_000, ...(after ? { after } : {}) });
      for (const child of page) childIds.set(Number(child.idempotencyKey!.split(".").at(-1)), child.runId);
      if (page.length < 1_000) break;
      after = page.at(-1)!.runId;
    }
    let sent = 0;
    const senders = Array.from({ length: options.signalConcurrency ?? 4 }, async () => {
      while (sent < children) {
        const index = sent++;
        await sendSignal({
          store,
          runId: childIds.get(index)!,
          name: "go",
          payload: `released ${index}`,
          by: principal,
        });
      }
    });
    const childWorker = serve(waiter);
    workers.push(childWorker);
    childWorker.start();
    await Promise.all(senders);
    log(`signalled ${children} children in ${((performance.now() - phase) / 1000).toFixed(1)} s`);
    const ended = await endedRun(store, run.runId, timeoutMs);
    const settleMs = performance.now() - phase;
    log(`the parent ended ${ended.status} ${(settleMs / 1000).toFixed(1)} s after the first signal`);
    const answer = ended.answer === null ? null : (JSON.parse(ended.answer) as unknown[]);
    return {
      children,
      idleBytes,
      parentSuspendedBytes: samples[0]!.heapBytes - idleBytes,
      samples,
      bytesPerChild: bytesPerUnit(samples),
      status: ended.status,
      answerCorrect:
        answer !== null &&
        answer.length === children &&
        answer.every((value, index) => value === `released ${index}`),
      timings: { startChildrenMs, suspendChildrenMs, settleMs },
    };
  } finally {
    for (const worker of workers) await worker.stop();
  }
}
