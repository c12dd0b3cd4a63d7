/**
 * Keel: the bench agent (scripted model, trivial `echo` tool) interpreted by a real worker over a PostgreSQL
 * journal, as bench/durable-step-overhead.ts and bench/durable-steps-throughput.ts drive it. One run at a time: a
 * worker of concurrency 1 and runs started one after another; many at once: a worker whose concurrency is the
 * number of runs, all started together.
 */
import { startRun } from "../../src/runtime/start-run.ts";
import type { Worker } from "../../src/runtime/worker.ts";
import { openStore } from "../../src/store/open-store.ts";
import { BENCH_PRINCIPAL, createBenchAgent, stepDurations } from "../bench-agent.ts";
import { createBenchWorker } from "../bench-worker.ts";
import { expectCompleted } from "../durable-steps-throughput.ts";
import { untilTrue } from "../until-true.ts";
import { expectEveryRunCalled } from "./agent-script.ts";
import { type PeerPlan, type PeerSystem, timePhase } from "./peer-system.ts";

export async function openKeelPeer(databaseUrl: string, plan: PeerPlan): Promise<PeerSystem> {
  const store = await openStore({ databaseUrl });
  const bench = createBenchAgent({ steps: plan.toolSteps, name: "peer-bench" });
  const runIds: string[] = [];
  let answersExpected = 0;
  let phases = 0;

  const start = async () => {
    const { run } = await startRun({
      store,
      agent: bench.agent,
      input: "benchmark",
      principal: BENCH_PRINCIPAL,
    });
    runIds.push(run.runId);
  };
  /** Drive `count` runs through a worker of `concurrency`; the phase ends once the last run released its lease. */
  const drive = async (count: number, concurrency: number, startAll: (worker: Worker) => Promise<void>) => {
    phases += 1;
    bench.toolCallTimes.clear();
    const worker = createBenchWorker({
      store,
      agent: bench.agent,
      owner: `peer-keel-${phases}`,
      concurrency,
    });
    worker.start();
    try {
      const started = performance.now();
      await startAll(worker);
      answersExpected += count;
      await bench.answered(answersExpected);
      // After its answer a run still commits run-end and releases its lease.
      await untilTrue(() => worker.activeRuns === 0);
      const elapsedMs = performance.now() - started;
      expectEveryRunCalled(bench.toolCallTimes, count, plan.toolSteps);
      return { samplesMs: stepDurations(bench.toolCallTimes), operations: count * plan.toolSteps, elapsedMs };
    } finally {
      await worker.stop();
    }
  };

  return {
    describe: {
      journal: "PostgreSQL (keel's PostgresStore, pg pool of 10, the default)",
      worker: "one worker with the allow-all governor; concurrency 1 one at a time, = runs at once",
    },
    sequential: async (count) =>
      await timePhase(
        async () =>
          await drive(count, 1, async (worker) => {
            for (let index = 0; index < count; index += 1) {
              await start();
              await bench.answered(answersExpected + index + 1);
              await untilTrue(() => worker.activeRuns === 0);
            }
          }),
      ),
    concurrent: async (count) =>
      await timePhase(
        async () =>
          await drive(count, count, async () => {
            await Promise.all(Array.from({ length: count }, start));
          }),
      ),
    async verify() {
      await expectCompleted(store, runIds, plan.toolSteps);
      return `${runIds.length} runs completed, each with ${plan.toolSteps} tool-call-end events journaled`;
    },
    close: async () => await store.close(),
  };
}
