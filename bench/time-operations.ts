/** Counts for one timed phase: a warm-up that is thrown away, then the measured part. */
export type Phase = { warmup: number; measured: number };

/**
 * Run `operation` one call at a time: `warmup` calls first (JIT, connection setup, caches), then `measured`
 * timed calls. Returns each measured call's duration in milliseconds.
 */
export async function timeSequential(
  phase: Phase,
  operation: (index: number) => Promise<void>,
): Promise<number[]> {
  for (let index = 0; index < phase.warmup; index += 1) await operation(index);
  const samples: number[] = [];
  for (let index = phase.warmup; index < phase.warmup + phase.measured; index += 1) {
    const started = performance.now();
    await operation(index);
    samples.push(performance.now() - started);
  }
  return samples;
}

/** What a closed-loop throughput phase achieved. */
export type ThroughputResult = {
  concurrency: number;
  /** Calls completed inside the measured window. */
  operations: number;
  elapsedMs: number;
  perSecond: number;
  /** From the start of the window until the last in-flight call returned (a little past `elapsedMs`). */
  drainedMs: number;
  /** This process's CPU time over `drainedMs` as a share of one core (PGlite's database runs in it too). */
  processCpuPercent: number;
};

/**
 * Closed-loop throughput: `concurrency` loops each issue `operation(lane, index)` one after another, so at most
 * `concurrency` calls are in flight. Every loop first runs for `warmupMs` untimed, then all are timed together
 * for `measureMs`; calls still in flight at the deadline finish but are not counted.
 */
export async function timeConcurrent(options: {
  concurrency: number;
  warmupMs: number;
  measureMs: number;
  operation: (lane: number, index: number) => Promise<void>;
  /** Called as the measured window opens, e.g. to snapshot counters. */
  onMeasureStart?: () => void;
}): Promise<ThroughputResult> {
  const { concurrency, operation } = options;
  // Each lane numbers its calls itself, so an operation can derive unique keys from (lane, index).
  const nextIndex = new Array<number>(concurrency).fill(0);
  let completed = 0;
  const drive = async (until: number, counting: boolean) =>
    await Promise.all(
      nextIndex.map(async (_, lane) => {
        while (performance.now() < until) {
          const index = nextIndex[lane]!;
          nextIndex[lane] = index + 1;
          await operation(lane, index);
          if (counting && performance.now() <= until) completed += 1;
        }
      }),
    );
  await drive(performance.now() + options.warmupMs, false);
  options.onMeasureStart?.();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await drive(started + options.measureMs, true);
  const drainedMs = performance.now() - started;
  const elapsedMs = options.measureMs;
  return {
    concurrency,
    operations: completed,
    elapsedMs,
    perSecond: (completed * 1_000) / elapsedMs,
    drainedMs,
    processCpuPercent: cpuPercent(process.cpuUsage(cpuBefore), drainedMs),
  };
}

/** CPU time (user + system) as a percentage of one core over `wallMs`. */
export function cpuPercent(usage: NodeJS.CpuUsage, wallMs: number): number {
  return ((usage.user + usage.system) / 1_000 / wallMs) * 100;
}
