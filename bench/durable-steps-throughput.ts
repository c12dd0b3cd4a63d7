/**
 * Durable steps per second in one process: `runs` runs of `stepsPerRun` steps each, all queued first, then
 * interpreted at once by one worker whose concurrency equals `runs`, so their journal appends share group
 * commits. Timed end to end, from starting the worker until every run has answered and released its lease.
 * Only tool-calling turns count as steps; each run's final answering turn is done but not counted. Compared
 * with raw INSERTs/s from the same number of concurrent callers (the store's baseline).
 */
import { startRun } from "../src/runtime/start-run.ts";
import type { SqlStore } from "../src/store/sql-store.ts";
import { BENCH_PRINCIPAL, createBenchAgent } from "./bench-agent.ts";
import { createBenchWorker } from "./bench-worker.ts";
import { markWork, type ServerWork, workPerStep } from "./server-work.ts";
import { cpuPercent } from "./time-operations.ts";
import { untilTrue } from "./until-true.ts";

export type StepsThroughputOptions = { runs: number; stepsPerRun: number };

export type StepsThroughputResult = {
  runs: number;
  stepsPerRun: number;
  steps: number;
  elapsedMs: number;
  stepsPerSecond: number;
  commits: number;
  /** Append calls per commit: how much group commit batched. */
  appendsPerCommit: number;
  /** This process's CPU time as a share of one core (PGlite's database runs in it too). */
  processCpuPercent: number;
  /** The database's work per step over the whole measurement (runs' creation excluded). */
  serverWork: ServerWork;
};

export async function benchStepsThroughput(
  store: SqlStore,
  options: StepsThroughputOptions,
): Promise<StepsThroughputResult> {
  const bench = createBenchAgent({ steps: options.stepsPerRun, name: `bench-throughput-${options.runs}` });
  const runIds: string[] = [];
  for (let index = 0; index < options.runs; index += 1) {
    const { run } = await startRun({
      store,
      agent: bench.agent,
      input: "benchmark",
      principal: BENCH_PRINCIPAL,
    });
    runIds.push(run.runId);
  }
  const worker = createBenchWorker({
    store,
    agent: bench.agent,
    owner: `bench-throughput-${options.runs}`,
    concurrency: options.runs,
  });
  const before = store.stats;
  const mark = await markWork(store.sql);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  worker.start();
  try {
    await bench.answered(options.runs);
    await untilTrue(() => worker.activeRuns === 0);
  } finally {
    await worker.stop();
  }
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const after = store.stats;
  const steps = options.runs * options.stepsPerRun;
  const serverWork = await workPerStep(store.sql, mark, steps);
  await expectCompleted(store, runIds, options.stepsPerRun);
  const commits = after.commits - before.commits;
  return {
    runs: options.runs,
    stepsPerRun: options.stepsPerRun,
    steps,
    elapsedMs,
    stepsPerSecond: (steps * 1_000) / elapsedMs,
    commits,
    appendsPerCommit: commits === 0 ? 0 : (after.requests - before.requests) / commits,
    processCpuPercent: cpuPercent(cpu, elapsedMs),
    serverWork,
  };
}

/** A throughput figure counts only if every run really completed with all its steps journaled. */
export async function expectCompleted(
  store: SqlStore,
  runIds: readonly string[],
  stepsPerRun: number,
): Promise<void> {
  const { rows } = await store.sql.query<{ status: string; runs: number; steps: number }>(
    `SELECT r.status, count(*)::int AS runs,
            (SELECT count(*)::int FROM keel_events e WHERE e.run_id = ANY($1::text[]) AND e.type = 'tool-call-end') AS steps
       FROM keel_runs r WHERE r.run_id = ANY($1::text[]) GROUP BY r.status`,
    [runIds],
  );
  const completed = rows.find((row) => row.status === "completed");
  if (
    rows.length !== 1 ||
    completed?.runs !== runIds.length ||
    completed.steps !== runIds.length * stepsPerRun
  ) {
    throw new Error(`not every benchmark run completed with its steps: ${JSON.stringify(rows)}`);
  }
}
