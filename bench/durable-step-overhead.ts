/**
 * Durable per-step overhead: the same agent work (a scripted model turn plus one trivial tool call) done
 * (a) directly in a loop with no journal, and (b) by a worker through the durable journal, one run at a time.
 * A step is timed from one tool call to the next, so it spans the model turn, the step's two journal commits
 * and the tool; the added time per step is (b) − (a) at p50 and p95. A third variant, the interpreter over a
 * journal that keeps nothing (no database), splits the overhead into runtime CPU and store cost.
 *
 * Beside the times, this process's CPU (process.cpuUsage) over the measured runs of each variant, divided by
 * their steps: what the durable journal costs Keel's process per step is the durable variant's CPU minus the
 * in-memory one's, both taken in the same run. On PostgreSQL the database's own CPU is in another process and
 * not counted; on PGlite the database runs inside this process, so its CPU is part of the durable figure.
 */
import type { JournalEvent } from "../src/journal/events.ts";
import type { ModelMessage, ModelToolDefinition } from "../src/models/model-provider.ts";
import type { AgentDefinition } from "../src/runtime/agent-definition.ts";
import { interpret } from "../src/runtime/interpret.ts";
import { RunJournal } from "../src/runtime/run-journal.ts";
import { foldEvents } from "../src/runtime/run-state.ts";
import { singleAgentGraph } from "../src/runtime/single-agent-graph.ts";
import { startRun } from "../src/runtime/start-run.ts";
import type { SqlStore } from "../src/store/sql-store.ts";
import type { Store } from "../src/store/store.ts";
import { toolInputJsonSchema } from "../src/tools/execute-tool-call.ts";
import { allowAllGovernor } from "./allow-all-governor.ts";
import { BENCH_PRINCIPAL, type BenchAgent, createBenchAgent, stepDurations } from "./bench-agent.ts";
import { createBenchWorker } from "./bench-worker.ts";
import { markWork, type ServerWork, type WorkMark, workPerStep } from "./server-work.ts";
import { type LatencySummary, summarizeLatencies } from "./summarize-latencies.ts";
import { untilTrue } from "./until-true.ts";

export type StepOverheadOptions = {
  stepsPerRun: number;
  /** Runs per variant: the first `warmup` are thrown away. */
  directRuns: { warmup: number; measured: number };
  durableRuns: { warmup: number; measured: number };
};

export type StepOverheadResult = {
  stepsPerRun: number;
  /** (a) model turn + tool call in a plain loop. */
  direct: LatencySummary;
  /** The interpreter with a journal that stores nothing: runtime CPU without the store. */
  inMemoryJournal: LatencySummary;
  /** (b) a worker interpreting the run over the durable store. */
  durable: LatencySummary;
  /** (b) − (a) at the same percentile. */
  overhead: { p50: number; p95: number };
  /** Whole durable runs (create, claim, steps, answer, release) divided by their steps. */
  durableRunPerStep: LatencySummary;
  /** This process's CPU per step, over whole measured runs. */
  cpuPerStep: {
    inMemoryJournal: CpuPerStep;
    durable: CpuPerStep;
    /** durable − in-memory journal: the CPU the durable journal adds to each step. */
    addedMs: number;
  };
  /** The database's work for the measured durable runs (create → release), divided by their steps. */
  serverWork: ServerWork;
};

/** CPU time of this process per step, in milliseconds: user, system (kernel, e.g. socket writes) and both. */
export type CpuPerStep = { userMs: number; systemMs: number; totalMs: number };

export async function benchStepOverhead(
  store: SqlStore,
  options: StepOverheadOptions,
): Promise<StepOverheadResult> {
  const direct = await measureDirect(options);
  const inMemoryJournal = await measureInMemoryJournal(options);
  const { steps, perRun, cpu, serverWork } = await measureDurable(store, options);
  return {
    stepsPerRun: options.stepsPerRun,
    direct,
    inMemoryJournal: inMemoryJournal.steps,
    durable: steps,
    overhead: { p50: steps.p50 - direct.p50, p95: steps.p95 - direct.p95 },
    durableRunPerStep: perRun,
    cpuPerStep: {
      inMemoryJournal: inMemoryJournal.cpu,
      durable: cpu,
      addedMs: cpu.totalMs - inMemoryJournal.cpu.totalMs,
    },
    serverWork,
  };
}

async function measureDirect(options: StepOverheadOptions): Promise<LatencySummary> {
  const bench = createBenchAgent({ steps: options.stepsPerRun });
  const { warmup, measured } = options.directRuns;
  for (let index = 0; index < warmup + measured; index += 1) {
    if (index === warmup) bench.toolCallTimes.clear();
    await runDirectly(bench.agent, `run_direct_${index}`);
  }
  return summarizeLatencies(stepDurations(bench.toolCallTimes));
}

/** What a hand-written agent loop does without Keel: ask the model, run the tool it names, repeat. */
async function runDirectly(agent: AgentDefinition, runId: string): Promise<void> {
  const signal = new AbortController().signal;
  const messages: ModelMessage[] = [{ role: "user", content: "benchmark" }];
  const tools: ModelToolDefinition[] = [...agent.tools.values()].map((tool) => ({
    name: tool.name,
    description: tool.description,
    inputSchema: toolInputJsonSchema(tool),
  }));
  for (;;) {
    const { decision } = await agent.provider.generate({
      system: agent.system,
      messages,
      tools,
      params: agent.params,
      signal,
    });
    if (decision.kind === "answer") return;
    messages.push({ role: "assistant", content: decision.text ?? "", toolCalls: decision.calls });
    for (const call of decision.calls) {
      const tool = agent.tools.get(call.tool);
      if (!tool) throw new Error(`no tool ${call.tool}`);
      const idempotencyKey = `${runId}:${call.callId}`;
      const result = await tool.execute(tool.input.parse(call.arguments), {
        runId,
        callId: call.callId,
        idempotencyKey,
        signal,
      });
      messages.push({ role: "tool", callId: call.callId, tool: call.tool, content: result, isError: false });
    }
  }
}

async function measureInMemoryJournal(
  options: StepOverheadOptions,
): Promise<{ steps: LatencySummary; cpu: CpuPerStep }> {
  const bench = createBenchAgent({ steps: options.stepsPerRun });
  // RunJournal only ever calls `append`; this one keeps nothing and answers at once.
  const nothingStored = { append: async () => [] } as unknown as Store;
  const { warmup, measured } = options.directRuns;
  let cpuStart = process.cpuUsage();
  for (let index = 0; index < warmup + measured; index += 1) {
    if (index === warmup) {
      bench.toolCallTimes.clear();
      cpuStart = process.cpuUsage();
    }
    const runId = `run_memory_${index}`;
    const state = foldEvents([runStartEvent(runId, bench)]);
    const lease = { runId, owner: "bench-memory", token: 1, expiresAt: new Date(Date.now() + 60_000) };
    const journal = new RunJournal({ store: nothingStored, lease, state });
    await interpret(singleAgentGraph, {
      agent: bench.agent,
      journal,
      signal: new AbortController().signal,
      governor: allowAllGovernor,
    });
  }
  return {
    steps: summarizeLatencies(stepDurations(bench.toolCallTimes)),
    cpu: cpuPerStep(process.cpuUsage(cpuStart), measured * options.stepsPerRun),
  };
}

function cpuPerStep(usage: NodeJS.CpuUsage, steps: number): CpuPerStep {
  const userMs = usage.user / 1_000 / steps;
  const systemMs = usage.system / 1_000 / steps;
  return { userMs, systemMs, totalMs: userMs + systemMs };
}

function runStartEvent(runId: string, bench: BenchAgent): JournalEvent {
  const now = new Date();
  return {
    runId,
    seq: 1,
    type: "run-start",
    at: now.toISOString(),
    payload: {
      agent: bench.agent.name,
      agentVersion: bench.agent.version,
      specHash: bench.agent.versionHash,
      input: "benchmark",
      principal: BENCH_PRINCIPAL,
      startedAt: now.toISOString(),
      deadlineAt: new Date(now.getTime() + bench.agent.limits.runTimeout).toISOString(),
      maxSteps: bench.agent.limits.maxSteps,
    },
    schemaVersion: 1,
    payloadHash: "",
    prevHash: "",
    hash: "",
  };
}

async function measureDurable(
  store: SqlStore,
  options: StepOverheadOptions,
): Promise<{ steps: LatencySummary; perRun: LatencySummary; cpu: CpuPerStep; serverWork: ServerWork }> {
  const bench = createBenchAgent({ steps: options.stepsPerRun });
  const worker = createBenchWorker({ store, agent: bench.agent, owner: "bench-overhead", concurrency: 1 });
  worker.start();
  const perRun: number[] = [];
  const { warmup, measured } = options.durableRuns;
  let cpuStart = process.cpuUsage();
  let cpu: NodeJS.CpuUsage | undefined;
  let mark: WorkMark | null = null;
  try {
    for (let index = 0; index < warmup + measured; index += 1) {
      if (index === warmup) {
        bench.toolCallTimes.clear();
        mark = await markWork(store.sql);
        cpuStart = process.cpuUsage();
      }
      const started = performance.now();
      await startRun({ store, agent: bench.agent, input: "benchmark", principal: BENCH_PRINCIPAL });
      await bench.answered(index + 1);
      // After the answer the worker still commits run-end and releases the lease; one run at a time.
      await untilTrue(() => worker.activeRuns === 0);
      if (index >= warmup) perRun.push((performance.now() - started) / options.stepsPerRun);
    }
    cpu = process.cpuUsage(cpuStart);
  } finally {
    await worker.stop();
  }
  const serverWork = await workPerStep(
    store.sql,
    mark ?? (await markWork(store.sql)),
    measured * options.stepsPerRun,
  );
  return {
    steps: summarizeLatencies(stepDurations(bench.toolCallTimes)),
    perRun: summarizeLatencies(perRun),
    cpu: cpuPerStep(cpu, measured * options.stepsPerRun),
    serverWork,
  };
}
