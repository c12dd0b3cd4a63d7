/**
 * Journal append: `store.append` of one ~300-byte event per call under a lease, which validates, hash-links
 * and commits it with the run row's projection (group commit batches concurrent calls). Measured one call at
 * a time on one run (latency, compared with one raw INSERT), and with many runs appending at once, each
 * waiting for its previous append (events/s and commits/s, compared with raw INSERTs at the same concurrency).
 */
import type { SqlStore } from "../src/store/sql-store.ts";
import { benchEvent } from "./bench-event.ts";
import { leasedRuns } from "./leased-runs.ts";
import { type LatencySummary, summarizeLatencies } from "./summarize-latencies.ts";
import { type Phase, type ThroughputResult, timeConcurrent, timeSequential } from "./time-operations.ts";

export type JournalAppendOptions = {
  sequential: Phase;
  /** Runs appending at once, one throughput run per level. */
  concurrency: readonly number[];
  warmupMs: number;
  measureMs: number;
};

/** Throughput plus what group commit did: commits in the window and events each carried. */
export type AppendThroughput = ThroughputResult & {
  commits: number;
  commitsPerSecond: number;
  eventsPerCommit: number;
};

export type JournalAppendResult = { sequential: LatencySummary; concurrent: AppendThroughput[] };

export async function benchJournalAppend(
  store: SqlStore,
  options: JournalAppendOptions,
): Promise<JournalAppendResult> {
  const [single] = await leasedRuns(store, 1);
  const samples = await timeSequential(options.sequential, async (index) => {
    await store.append({ lease: single!, events: [benchEvent(index)] });
  });
  const concurrent: AppendThroughput[] = [];
  for (const concurrency of options.concurrency) {
    concurrent.push(await appendConcurrently(store, concurrency, options));
  }
  return { sequential: summarizeLatencies(samples), concurrent };
}

async function appendConcurrently(
  store: SqlStore,
  concurrency: number,
  options: JournalAppendOptions,
): Promise<AppendThroughput> {
  const leases = await leasedRuns(store, concurrency);
  let before = store.stats;
  const result = await timeConcurrent({
    concurrency,
    warmupMs: options.warmupMs,
    measureMs: options.measureMs,
    onMeasureStart: () => {
      before = store.stats;
    },
    operation: async (lane, index) => {
      await store.append({ lease: leases[lane]!, events: [benchEvent(index)] });
    },
  });
  // The counters cover the window until the last call returned, so divide by that span, not the nominal one.
  const after = store.stats;
  const commits = after.commits - before.commits;
  return {
    ...result,
    commits,
    commitsPerSecond: (commits * 1_000) / result.drainedMs,
    eventsPerCommit: commits === 0 ? 0 : (after.events - before.events) / commits,
  };
}
