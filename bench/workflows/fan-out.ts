/**
 * A durable fan-out of B branches, each doubling one number, joined into one list — on Keel (a workflow `map`
 * node whose branches are governed tool calls, journaled on PostgreSQL and run by a worker) and on LangGraph.js
 * (a `Send` per item to a worker node, the results joined by an appending reducer, compiled with PostgresSaver and
 * invoked with `durability: "sync"`), each in its own database on the same PostgreSQL server. The two take turns
 * run by run; each run's wall time is from its start to its final state, and every run's result is checked.
 */
import { Annotation, END, Send, START, StateGraph } from "@langchain/langgraph";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { z } from "zod";
import { startRun } from "../../src/runtime/start-run.ts";
import { defineWorkflow } from "../../src/spec/index.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { defineTool } from "../../src/tools/tool.ts";
import { BENCH_PRINCIPAL } from "../bench-agent.ts";
import { createBenchWorker } from "../bench-worker.ts";
import { type LatencySummary, summarizeLatencies } from "../summarize-latencies.ts";
import { benchWorkflowAgent } from "./workflow-agent.ts";

export type FanOutOptions = { branches: number; warmupRuns: number; measuredRuns: number };

export type FanOutResult = {
  branches: number;
  keel: LatencySummary;
  langgraph: LatencySummary;
  /** Keel's p50 wall time ÷ LangGraph's. */
  ratioP50: number;
  /** What was checked in each system's database after the runs. */
  verified: { keel: string; langgraph: string };
};

async function double(n: number): Promise<number> {
  return n * 2;
}

export async function benchFanOut(
  options: FanOutOptions & { keelStore: SqlStore; langgraphUrl: string },
): Promise<FanOutResult> {
  const items = Array.from({ length: options.branches }, (_, index) => index + 1);
  const expected = items.reduce((sum, n) => sum + n * 2, 0);
  const keel = await keelFanOut(options.keelStore, options.branches);
  const langgraph = await langgraphFanOut(options.langgraphUrl);
  const samples = { keel: [] as number[], langgraph: [] as number[] };
  try {
    for (let index = 0; index < options.warmupRuns + options.measuredRuns; index += 1) {
      const order = index % 2 === 0 ? (["keel", "langgraph"] as const) : (["langgraph", "keel"] as const);
      for (const system of order) {
        const started = performance.now();
        const results = system === "keel" ? await keel.runOne(items) : await langgraph.runOne(items);
        const elapsed = performance.now() - started;
        const sum = results.reduce((total, n) => total + n, 0);
        if (results.length !== options.branches || sum !== expected) {
          throw new Error(`${system} joined ${results.length} results summing to ${sum}, not ${expected}`);
        }
        if (index >= options.warmupRuns) samples[system].push(elapsed);
      }
    }
    const keelSummary = summarizeLatencies(samples.keel);
    const langgraphSummary = summarizeLatencies(samples.langgraph);
    return {
      branches: options.branches,
      keel: keelSummary,
      langgraph: langgraphSummary,
      ratioP50: keelSummary.p50 / langgraphSummary.p50,
      verified: { keel: await keel.verify(), langgraph: await langgraph.verify() },
    };
  } finally {
    await keel.close();
    await langgraph.close();
  }
}

type FanOutSystem = {
  runOne(items: number[]): Promise<number[]>;
  verify(): Promise<string>;
  close(): Promise<void>;
};

async function keelFanOut(store: SqlStore, branches: number): Promise<FanOutSystem> {
  const workflow = defineWorkflow({
    name: "fan-out",
    version: "1.0.0",
    description: `Doubles ${branches} numbers in parallel and joins the results.`,
    owner: { team: "bench" },
    riskTier: 3,
    state: { results: { type: "array", reducer: "append", default: [] } },
    start: "fan",
    nodes: {
      fan: {
        map: {
          over: "input.items",
          do: { tool: { name: "double", args: { n: "${item}" } }, writes: "results" },
        },
        next: "done",
      },
      done: { end: { output: "${state.results}" } },
    },
    limits: { maxSteps: 10 },
  });
  const doubleTool = defineTool({
    name: "double",
    description: "Double a number.",
    input: z.object({ n: z.number() }),
    output: z.number(),
    async execute({ n }) {
      return await double(n);
    },
  });
  const agent = benchWorkflowAgent(workflow, [doubleTool], {
    maxSteps: 10,
    runTimeout: 120_000,
    toolTimeout: 5_000,
  });
  const worker = createBenchWorker({ store, agent, owner: "bench-fan-out", concurrency: 1 });
  worker.start();
  const runIds: string[] = [];
  return {
    async runOne(items) {
      const { run } = await startRun({
        store,
        agent,
        input: JSON.stringify({ items }),
        principal: BENCH_PRINCIPAL,
      });
      runIds.push(run.runId);
      worker.poke();
      let lastSeq = run.lastSeq;
      for (;;) {
        const current = await store.getRun(run.runId);
        if (current?.status === "completed") return JSON.parse(current.answer ?? "[]") as number[];
        if (current && ["failed", "cancelled", "budget_exceeded"].includes(current.status)) {
          throw new Error(`the Keel fan-out ended ${current.status}: ${JSON.stringify(current.error)}`);
        }
        lastSeq = current?.lastSeq ?? lastSeq;
        await store.waitForEvents({ runId: run.runId, afterSeq: lastSeq, timeoutMs: 1_000 });
      }
    },
    async verify() {
      let calls = 0;
      for (const runId of runIds) {
        const events = await store.readEvents({ runId });
        calls += events.filter((event) => event.type === "tool-call-end").length;
      }
      return `${runIds.length} runs journaled, ${calls} tool calls ended (${calls / runIds.length} per run)`;
    },
    close: async () => await worker.stop(),
  };
}

async function langgraphFanOut(databaseUrl: string): Promise<FanOutSystem> {
  const pool = new pg.Pool({ connectionString: databaseUrl });
  pool.on("error", () => undefined);
  const checkpointer = new PostgresSaver(pool);
  await checkpointer.setup();
  const State = Annotation.Root({
    items: Annotation<number[]>,
    results: Annotation<number[]>({ reducer: (left, right) => left.concat(right), default: () => [] }),
  });
  const graph = new StateGraph(State)
    .addNode("work", async (state: { item?: number }) => ({ results: [await double(state.item ?? 0)] }))
    .addConditionalEdges(START, (state) => state.items.map((item) => new Send("work", { item })), ["work"])
    .addEdge("work", END)
    .compile({ checkpointer });
  const threadIds: string[] = [];
  return {
    async runOne(items) {
      const threadId = `fan_${threadIds.length + 1}`;
      threadIds.push(threadId);
      const final = await graph.invoke(
        { items },
        { configurable: { thread_id: threadId }, durability: "sync", recursionLimit: 10 },
      );
      return final.results;
    },
    async verify() {
      const { rows } = await pool.query<{ writes: number }>(
        "SELECT count(*)::int AS writes FROM checkpoint_writes WHERE channel = 'results'",
      );
      return `${threadIds.length} threads checkpointed, ${rows[0]?.writes ?? 0} result writes stored`;
    },
    close: async () => await checkpointer.end(),
  };
}
