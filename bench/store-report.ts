import type { DatabaseDescription } from "./describe-database.ts";
import type { CpuPerStep, StepOverheadResult } from "./durable-step-overhead.ts";
import type { StepsThroughputResult } from "./durable-steps-throughput.ts";
import { formatTable, ms, rate, times } from "./format-table.ts";
import type { JournalAppendResult } from "./journal-append.ts";
import type { CpuShare } from "./machine-cpu.ts";
import type { RawInsertResult } from "./raw-insert-baseline.ts";
import { formatServerWork } from "./server-work.ts";

/** Everything measured on one store in one run. */
export type StoreResults = {
  store: "pglite" | "postgres";
  where: string;
  database: DatabaseDescription;
  rawInsert: RawInsertResult;
  journalAppend: JournalAppendResult;
  stepOverhead: StepOverheadResult;
  stepsThroughput: StepsThroughputResult[];
  /** CPU use while each benchmark ran, to show whether anything else on the machine competed with it. */
  cpu: Record<string, CpuShare>;
};

/** Other work above this share of all CPUs during a benchmark makes its figures unfair to quote. */
const OTHER_CPU_WARNING_PERCENT = 10;

/** The targets, stated per process and per step. */
export const TARGETS = { overheadP50Ms: 0.5, stepsPerSecond: 2_000, cpuPerStepMs: 0.5 } as const;

/** Whether one target was met, with the figure that decides it. */
export type TargetVerdict = { target: string; met: boolean; measured: string };

/** Judge the targets on one store's figures. The steps/s target is met when any measured concurrency meets it. */
export function judgeTargets(results: StoreResults): TargetVerdict[] {
  const overhead = results.stepOverhead.overhead.p50;
  const best = results.stepsThroughput.reduce<StepsThroughputResult | null>(
    (top, entry) => (top === null || entry.stepsPerSecond > top.stepsPerSecond ? entry : top),
    null,
  );
  const throughputs = results.stepsThroughput
    .map((entry) => `${rate(entry.stepsPerSecond, "steps/s")} at ${entry.runs} runs`)
    .join(", ");
  const cpu = results.stepOverhead.cpuPerStep;
  // On PGlite the database runs in this process, so its CPU cannot be told apart from Keel's: judged on PostgreSQL.
  const cpuVerdict: TargetVerdict[] =
    results.store === "postgres"
      ? [
          {
            target: `Keel's CPU per durable step (durable − in-memory journal) ≤ ${TARGETS.cpuPerStepMs} ms`,
            met: cpu.addedMs <= TARGETS.cpuPerStepMs,
            measured: `${ms(cpu.addedMs)} ms (${ms(cpu.durable.totalMs)} durable − ${ms(cpu.inMemoryJournal.totalMs)} in-memory; ${times(cpu.addedMs / TARGETS.cpuPerStepMs)} the target)`,
          },
        ]
      : [];
  return [
    ...cpuVerdict,
    {
      target: `added durable overhead per step p50 ≤ ${TARGETS.overheadP50Ms} ms`,
      met: overhead <= TARGETS.overheadP50Ms,
      measured: `${ms(overhead)} ms (${times(overhead / TARGETS.overheadP50Ms)} the target)`,
    },
    {
      target: `≥ ${TARGETS.stepsPerSecond.toLocaleString("en-US")} durable steps/s per process`,
      met: best !== null && best.stepsPerSecond >= TARGETS.stepsPerSecond,
      measured: `${throughputs} (best ${times((best?.stepsPerSecond ?? 0) / TARGETS.stepsPerSecond)} the target)`,
    },
  ];
}

/** One store's table: every figure with its ratio to the raw INSERT (or direct loop) baseline from this run. */
export function formatStoreReport(results: StoreResults): string {
  const { rawInsert, journalAppend, stepOverhead } = results;
  const insertP50 = rawInsert.sequential.p50;
  const insertRate = new Map(rawInsert.concurrent.map((entry) => [entry.concurrency, entry.perSecond]));
  const rows: string[][] = [];
  const latencyRow = (name: string, summary: { p50: number; p95: number; p99: number }, ratio: string) => [
    name,
    ms(summary.p50),
    ms(summary.p95),
    ms(summary.p99),
    "",
    ratio,
  ];
  rows.push(latencyRow("raw INSERT, one at a time [baseline]", rawInsert.sequential, times(1)));
  for (const entry of rawInsert.concurrent) {
    rows.push([
      `raw INSERT, ${entry.concurrency} callers [baseline]`,
      "",
      "",
      "",
      rate(entry.perSecond, "rows/s"),
      `${times(1)}; node CPU ${entry.processCpuPercent.toFixed(0)}%`,
    ]);
  }
  rows.push(
    latencyRow(
      "append 1 event, one at a time",
      journalAppend.sequential,
      `${times(journalAppend.sequential.p50 / insertP50)} INSERT p50`,
    ),
  );
  for (const entry of journalAppend.concurrent) {
    const baseline = insertRate.get(entry.concurrency) ?? Number.NaN;
    rows.push([
      `append 1 event, ${entry.concurrency} runs at once`,
      "",
      "",
      "",
      rate(entry.perSecond, "events/s"),
      `${times(entry.perSecond / baseline)} INSERT rows/s; ${rate(entry.commitsPerSecond, "commits/s")}, ${entry.eventsPerCommit.toFixed(1)} events/commit, node CPU ${entry.processCpuPercent.toFixed(0)}%`,
    ]);
  }
  rows.push(latencyRow("step, direct loop, no journal [baseline]", stepOverhead.direct, times(1)));
  rows.push(
    latencyRow(
      "step, interpreter, journal keeps nothing",
      stepOverhead.inMemoryJournal,
      `${times(stepOverhead.inMemoryJournal.p50 / stepOverhead.direct.p50)} direct p50`,
    ),
  );
  rows.push(
    latencyRow(
      "step, worker, durable journal",
      stepOverhead.durable,
      `${times(stepOverhead.durable.p50 / stepOverhead.direct.p50)} direct p50`,
    ),
  );
  rows.push([
    "  added per step = durable − direct",
    ms(stepOverhead.overhead.p50),
    ms(stepOverhead.overhead.p95),
    "",
    "",
    `${times(stepOverhead.overhead.p50 / insertP50)} INSERT p50`,
  ]);
  rows.push(
    latencyRow(
      `  whole run ÷ ${stepOverhead.stepsPerRun} steps (create → release)`,
      stepOverhead.durableRunPerStep,
      formatServerWork(stepOverhead.serverWork),
    ),
  );
  const stepCpu = stepOverhead.cpuPerStep;
  const cpuRow = (name: string, entry: CpuPerStep, ratio: string) => [
    name,
    ms(entry.totalMs),
    "",
    "",
    "",
    `user ${ms(entry.userMs)} + system ${ms(entry.systemMs)}${ratio}`,
  ];
  rows.push(cpuRow("CPU per step, interpreter, journal keeps nothing", stepCpu.inMemoryJournal, ""));
  rows.push(
    cpuRow(
      "CPU per step, worker, durable journal",
      stepCpu.durable,
      `; ${times(stepCpu.durable.totalMs / stepCpu.inMemoryJournal.totalMs)} in-memory${results.store === "pglite" ? "; includes PGlite's own CPU" : ""}`,
    ),
  );
  rows.push(["  CPU added per step = durable − in-memory", ms(stepCpu.addedMs), "", "", "", ""]);
  for (const entry of results.stepsThroughput) {
    const baseline = insertRate.get(entry.runs) ?? Number.NaN;
    rows.push([
      `durable steps, ${entry.runs} runs × ${entry.stepsPerRun} steps`,
      "",
      "",
      "",
      rate(entry.stepsPerSecond, "steps/s"),
      `${times(entry.stepsPerSecond / baseline)} INSERT rows/s; ${entry.appendsPerCommit.toFixed(1)} appends/commit, node CPU ${entry.processCpuPercent.toFixed(0)}%; ${formatServerWork(entry.serverWork)}`,
    ]);
  }
  const settings = Object.entries(results.database.settings)
    .map(([name, value]) => `${name}=${value}`)
    .join(" ");
  const verdicts = judgeTargets(results)
    .map((verdict) => `  ${verdict.met ? "MET    " : "NOT MET"}  ${verdict.target}: ${verdict.measured}`)
    .join("\n");
  const percent = (value: number | null) => (value === null ? "?" : `${value.toFixed(0)}%`);
  const cpu = Object.entries(results.cpu).map(
    ([name, share]) =>
      `  ${name}: machine ${percent(share.machinePercent)}, this process ${percent(share.processPercent)}, ` +
      `server ${percent(share.serverPercent)}, other ${percent(share.otherPercent)}`,
  );
  const busy = Object.entries(results.cpu).filter(
    ([, share]) => (share.otherPercent ?? 0) > OTHER_CPU_WARNING_PERCENT,
  );
  const warning = busy.map(
    ([name, share]) =>
      `WARNING: other work used ${percent(share.otherPercent)} of the CPUs during ${name}; its figures are skewed.`,
  );
  return [
    `## ${results.store} — ${results.where}`,
    `${results.database.version}`,
    settings,
    "",
    formatTable(["measurement", "p50 ms", "p95 ms", "p99 ms", "throughput", "vs baseline (same run)"], rows),
    "",
    "targets:",
    verdicts,
    "",
    "CPU while measuring (share of all cores):",
    ...cpu,
    ...warning,
  ].join("\n");
}
