import type { StepOverheadOptions } from "./durable-step-overhead.ts";
import type { StepsThroughputOptions } from "./durable-steps-throughput.ts";
import type { RawInsertOptions } from "./raw-insert-baseline.ts";

/** How much of each benchmark to run. */
export type BenchPlan = {
  /** Concurrent callers for the throughput runs; raw INSERT, append and steps/s use the same levels. */
  concurrency: readonly number[];
  sequential: RawInsertOptions["sequential"];
  warmupMs: number;
  measureMs: number;
  stepOverhead: StepOverheadOptions;
  stepsPerRun: number;
  /** A short throughput round before the measured ones, thrown away. */
  throughputWarmup: StepsThroughputOptions;
};

/** The full run: under five minutes on two cores for both stores. */
export const FULL_PLAN: BenchPlan = {
  concurrency: [64, 256],
  sequential: { warmup: 300, measured: 3_000 },
  warmupMs: 1_000,
  measureMs: 5_000,
  stepOverhead: {
    stepsPerRun: 20,
    directRuns: { warmup: 20, measured: 200 },
    // Warmed and measured alike with the in-memory journal: with 5 warm-up runs, the durable variant's measured CPU
    // still held the JIT compiling the store's path, which the in-memory variant had done in its own warm-up.
    durableRuns: { warmup: 20, measured: 200 },
  },
  stepsPerRun: 40,
  throughputWarmup: { runs: 32, stepsPerRun: 5 },
};

/** `--quick`: a smoke run that exercises every path in seconds; its figures are too noisy to quote. */
export const QUICK_PLAN: BenchPlan = {
  concurrency: [64],
  sequential: { warmup: 30, measured: 200 },
  warmupMs: 200,
  measureMs: 700,
  stepOverhead: {
    stepsPerRun: 10,
    directRuns: { warmup: 5, measured: 20 },
    durableRuns: { warmup: 2, measured: 5 },
  },
  stepsPerRun: 5,
  throughputWarmup: { runs: 8, stepsPerRun: 2 },
};
