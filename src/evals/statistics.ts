/** A seeded pseudo-random generator (mulberry32): bootstraps give the same interval on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * McNemar's exact test on paired pass/fail outcomes. `b`: cases that passed before and fail now; `c`: failed
 * before and pass now. Two-sided p-value of the binomial test on the discordant pairs (exact for any n).
 */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so large n does not underflow.
  let logCoefficient = 0;
  let tail = 0;
  for (let i = 0; i <= k; i++) {
    if (i > 0) logCoefficient += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logCoefficient - n * Math.LN2);
  }
  return Math.min(1, 2 * tail);
}

/** A percentile bootstrap confidence interval of a statistic over resampled indices. */
export function bootstrapInterval(options: {
  size: number;
  statistic: (indices: readonly number[]) => number;
  resamples?: number;
  confidence?: number;
  seed?: number;
}): { low: number; high: number } {
  const { size, statistic } = options;
  const resamples = options.resamples ?? 1_000;
  const confidence = options.confidence ?? 0.95;
  const random = seededRandom(options.seed ?? 1);
  if (size === 0) return { low: Number.NaN, high: Number.NaN };
  const values: number[] = [];
  const indices = new Array<number>(size);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < size; i++) indices[i] = Math.floor(random() * size);
    const value = statistic(indices);
    if (Number.isFinite(value)) values.push(value);
  }
  values.sort((a, b) => a - b);
  if (values.length === 0) return { low: Number.NaN, high: Number.NaN };
  const alpha = (1 - confidence) / 2;
  const at = (q: number) => values[Math.min(values.length - 1, Math.max(0, Math.floor(q * values.length)))]!;
  return { low: at(alpha), high: at(1 - alpha) };
}

/**
 * The Wilson score interval of a proportion (`successes` of `total`) at 95% confidence: unlike a bootstrap, it does
 * not collapse to a single point when every trial went the same way (0 of 27 is 0%–12.5%, not 0%–0%).
 */
export function wilsonInterval(successes: number, total: number): { low: number; high: number } {
  if (total === 0) return { low: Number.NaN, high: Number.NaN };
  const z = 1.959964;
  const p = successes / total;
  const denominator = 1 + (z * z) / total;
  const centre = (p + (z * z) / (2 * total)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / total + (z * z) / (4 * total * total))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** A confusion matrix of two raters' labels: `matrix[a][b]` counts items rater A labelled a and rater B b. */
export type ConfusionMatrix = { labels: string[]; matrix: number[][] };

/** Count two raters' paired labels into a confusion matrix (rows: first rater, columns: second). */
export function confusionMatrix(first: readonly string[], second: readonly string[]): ConfusionMatrix {
  const labels = [...new Set([...first, ...second])].sort();
  const index = new Map(labels.map((label, position) => [label, position]));
  const matrix = labels.map(() => labels.map(() => 0));
  for (let i = 0; i < first.length; i++) matrix[index.get(first[i]!)!]![index.get(second[i]!)!]! += 1;
  return { labels, matrix };
}

/**
 * Cohen's kappa: agreement between two raters beyond chance, (p_o − p_e) / (1 − p_e). When both raters used a
 * single label throughout, chance agreement is 1 and kappa is defined here as 1 if they agree, else 0.
 */
export function cohensKappa(first: readonly string[], second: readonly string[]): number {
  const n = first.length;
  if (n === 0 || n !== second.length) return Number.NaN;
  const counts = new Map<string, [number, number]>();
  let agree = 0;
  for (let i = 0; i < n; i++) {
    const a = first[i]!;
    const b = second[i]!;
    if (a === b) agree += 1;
    const left = counts.get(a) ?? [0, 0];
    left[0] += 1;
    counts.set(a, left);
    const right = counts.get(b) ?? [0, 0];
    right[1] += 1;
    counts.set(b, right);
  }
  const observed = agree / n;
  let expected = 0;
  for (const [a, b] of counts.values()) expected += (a / n) * (b / n);
  if (expected === 1) return observed === 1 ? 1 : 0;
  return (observed - expected) / (1 - expected);
}
