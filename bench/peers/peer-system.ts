/** What each system under test offers the benchmark, and the messages between the parent and a system's process. */

export const PEER_NAMES = ["keel", "dbos", "langgraph", "raw-insert"] as const;
export type PeerName = (typeof PEER_NAMES)[number];

/** Sizes of one benchmark run, the same for every system. */
export type PeerPlan = {
  /** Tool-calling model turns per run; each run then answers on one more turn. */
  toolSteps: number;
  /** Runs one at a time per system per round (figure a). */
  sequentialRuns: number;
  /** Runs at once per system per round (figure b). */
  concurrentRuns: number;
  /** Raw INSERT baseline: rows one at a time per round, and how long its concurrent callers run. */
  rawRows: number;
  rawMeasureMs: number;
  /** Untimed round first: runs one at a time, and runs at once, per system. */
  warmupSequentialRuns: number;
  warmupConcurrentRuns: number;
  rounds: number;
};

export type PhaseKind = "sequential" | "concurrent";

/** What one phase did. For the agent systems an operation is a tool-calling step; for the baseline, a row. */
export type PhaseOutcome = {
  /** Sequential phases: each step's duration (tool call to tool call) or each INSERT's latency, in ms. */
  samplesMs: number[];
  /** Operations counted for throughput (inside the timed window). */
  operations: number;
  /** Operations the phase executed in all, including any finishing after the window: the per-step divisor. */
  executed: number;
  elapsedMs: number;
  /** CPU time of the system's process over the phase. */
  cpuMs: number;
};

export type PeerSystem = {
  /** Facts for the report, e.g. the version and the connection pool. */
  describe: Record<string, string>;
  /** `count` runs one after another (the baseline: `count` rows). */
  sequential(count: number): Promise<PhaseOutcome>;
  /** `count` runs at once (the baseline: `count` callers for the plan's window). */
  concurrent(count: number): Promise<PhaseOutcome>;
  /** Check in the database that everything the phases did is there; a sentence saying what was checked. */
  verify(): Promise<string>;
  close(): Promise<void>;
};

export type ParentMessage =
  | { type: "phase"; kind: PhaseKind; count: number }
  | { type: "verify" }
  | { type: "close" };

export type ChildMessage =
  | { type: "ready"; describe: Record<string, string> }
  | { type: "phase"; outcome: PhaseOutcome }
  | { type: "verified"; summary: string }
  | { type: "closed" }
  | { type: "error"; message: string };

/** Time `work` on this process's clock and CPU. */
export async function timePhase(
  work: () => Promise<{ samplesMs: number[]; operations: number; executed?: number; elapsedMs?: number }>,
): Promise<PhaseOutcome> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  const elapsedMs = result.elapsedMs ?? performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    samplesMs: result.samplesMs,
    operations: result.operations,
    executed: result.executed ?? result.operations,
    elapsedMs,
    cpuMs: (cpu.user + cpu.system) / 1_000,
  };
}

/**
 * The two timed phases of a system whose runs are started one call at a time (`runOne`) and whose tool records
 * each call in `toolCallTimes`: runs one after another, and runs all at once, each checked to have called the
 * tool `toolSteps` times per run. `onRuns` counts what the phases ran, for the system's own verification.
 */
export function runPhases(options: {
  runOne: () => Promise<void>;
  toolCallTimes: Map<string, number[]>;
  plan: PeerPlan;
  stepDurations: (toolCallTimes: ReadonlyMap<string, readonly number[]>) => number[];
  expectEveryRunCalled: (times: ReadonlyMap<string, readonly number[]>, runs: number, steps: number) => void;
  onRuns?: (count: number) => void;
}): Pick<PeerSystem, "sequential" | "concurrent"> {
  const { runOne, toolCallTimes, plan } = options;
  const phase = async (count: number, startAll: () => Promise<void>) => {
    toolCallTimes.clear();
    await startAll();
    options.onRuns?.(count);
    options.expectEveryRunCalled(toolCallTimes, count, plan.toolSteps);
    return { samplesMs: options.stepDurations(toolCallTimes), operations: count * plan.toolSteps };
  };
  return {
    sequential: async (count) =>
      await timePhase(
        async () =>
          await phase(count, async () => {
            for (let index = 0; index < count; index += 1) await runOne();
          }),
      ),
    concurrent: async (count) =>
      await timePhase(
        async () =>
          await phase(count, async () => {
            await Promise.all(Array.from({ length: count }, runOne));
          }),
      ),
  };
}
