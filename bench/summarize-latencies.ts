/** Percentiles of a set of timings, in milliseconds. */
export type LatencySummary = { count: number; p50: number; p95: number; p99: number; mean: number };

/** Nearest-rank percentiles, so every figure is a time that was actually observed. */
export function summarizeLatencies(samplesMs: readonly number[]): LatencySummary {
  if (samplesMs.length === 0) throw new Error("no samples to summarize");
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const at = (fraction: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
  const total = sorted.reduce((sum, value) => sum + value, 0);
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), mean: total / sorted.length };
}
