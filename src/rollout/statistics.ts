/**
 * The statistics a rollout decides with: normal quantiles, Wilson intervals, two-proportion z-tests and seeded
 * bootstraps of two samples. Pure functions with no dependencies, so a verdict can be recomputed from its evidence.
 */

/** A seeded pseudo-random generator (mulberry32): the same seed draws the same resamples, so verdicts repeat. */
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

/** Evaluate a polynomial with coefficients from the highest power down (Horner). */
function polynomial(coefficients: readonly number[], x: number): number {
  let value = 0;
  for (const coefficient of coefficients) value = value * x + coefficient;
  return value;
}

const ERFC_FIT = [
  0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196,
  1.00002368, -1.26551223,
];

/**
 * The standard normal distribution function Φ(z), from the Chebyshev fit of erfc (fractional error below 1.2e-7
 * everywhere, so tail p-values keep their relative precision rather than rounding to 0).
 */
export function normalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (z === Number.POSITIVE_INFINITY) return 1;
  if (z === Number.NEGATIVE_INFINITY) return 0;
  const x = -z / Math.SQRT2;
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const tail = t * Math.exp(-x * x + polynomial(ERFC_FIT, t));
  const erfc = x >= 0 ? tail : 2 - tail;
  return 0.5 * erfc;
}

const CENTRAL = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
  2.506628277459239,
];
const CENTRAL_DENOMINATOR = [
  -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
];
const TAIL = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const TAIL_DENOMINATOR = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];

/** The standard normal quantile Φ⁻¹(p) (Acklam's rational approximation, relative error below 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  const low = 0.02425;
  if (p < low || p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(p < low ? p : 1 - p));
    const x = polynomial(TAIL, q) / (polynomial(TAIL_DENOMINATOR, q) * q + 1);
    return p < low ? x : -x;
  }
  const q = p - 0.5;
  const r = q * q;
  return (polynomial(CENTRAL, r) * q) / (polynomial(CENTRAL_DENOMINATOR, r) * r + 1);
}

/**
 * The Wilson score interval of a proportion (`successes` of `total`), two-sided at `confidence`. Unlike the Wald
 * interval it stays inside [0, 1] and does not collapse when every trial went the same way (0 of 27 is 0%–12.5%).
 */
export function wilsonInterval(
  successes: number,
  total: number,
  confidence = 0.95,
): { low: number; high: number } {
  if (total === 0) return { low: 0, high: 1 };
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const p = successes / total;
  const denominator = 1 + (z * z) / total;
  const centre = (p + (z * z) / (2 * total)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / total + (z * z) / (4 * total * total))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** A count of events among trials, one arm's side of a comparison of proportions. */
export type Proportion = { count: number; total: number };

/**
 * One-sided two-proportion z-test of "the second rate exceeds the first by more than `margin`". With no margin the
 * standard error is pooled (the classic test of equal rates); with one it is unpooled, the Wald test of a
 * non-inferiority margin, since under that null the rates differ and cannot share a pooled estimate.
 */
export function twoProportionZTest(
  first: Proportion,
  second: Proportion,
  margin = 0,
): { difference: number; z: number; pValue: number } {
  if (first.total === 0 || second.total === 0) return { difference: Number.NaN, z: Number.NaN, pValue: 1 };
  const p1 = first.count / first.total;
  const p2 = second.count / second.total;
  const difference = p2 - p1;
  let variance: number;
  if (margin === 0) {
    const pooled = (first.count + second.count) / (first.total + second.total);
    variance = pooled * (1 - pooled) * (1 / first.total + 1 / second.total);
  } else {
    variance = (p1 * (1 - p1)) / first.total + (p2 * (1 - p2)) / second.total;
  }
  const excess = difference - margin;
  if (variance === 0) {
    // Both arms all one way: the difference is exact, so it is beyond the margin or it is not.
    const z = excess > 0 ? Number.POSITIVE_INFINITY : excess < 0 ? Number.NEGATIVE_INFINITY : 0;
    return { difference, z, pValue: excess > 0 ? 0 : excess < 0 ? 1 : 0.5 };
  }
  const z = excess / Math.sqrt(variance);
  return { difference, z, pValue: normalCdf(-z) };
}

/** A two-sided interval of the difference of two proportions (second − first), Wald with the Agresti–Caffo correction. */
export function proportionDifferenceInterval(
  first: Proportion,
  second: Proportion,
  confidence = 0.95,
): { low: number; high: number } {
  // Adding one event and one non-event to each arm keeps the interval honest at small counts and at 0% or 100%.
  const p1 = (first.count + 1) / (first.total + 2);
  const p2 = (second.count + 1) / (second.total + 2);
  const z = normalQuantile(1 - (1 - confidence) / 2);
  const half = z * Math.sqrt((p1 * (1 - p1)) / (first.total + 2) + (p2 * (1 - p2)) / (second.total + 2));
  const difference = p2 - p1;
  return { low: Math.max(-1, difference - half), high: Math.min(1, difference + half) };
}

/** The `q` quantile of values by linear interpolation between order statistics (the common "type 7" definition). */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sortedQuantile(sorted, q);
}

function sortedQuantile(sorted: Float64Array, q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (position - below);
}

/** The arithmetic mean; NaN for no values. */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum / values.length;
}

/** A statistic a two-sample bootstrap can compute: the mean, or a quantile such as the p95. */
export type SampleStatistic = { kind: "mean" } | { kind: "quantile"; q: number };

/** How the bootstrap compares the two arms' statistics: second − first, or second ÷ first. */
export type Comparison = "difference" | "ratio";

/** The observed comparison and its sorted bootstrap distribution. */
export type BootstrapComparison = { estimate: number; draws: Float64Array };

/** A sample's statistic: its mean or one of its quantiles. */
export function sampleStatistic(values: ArrayLike<number>, statistic: SampleStatistic): number {
  return statisticOf(Float64Array.from(values), statistic);
}

/** The statistic of a working buffer, which it may reorder. */
function statisticOf(values: Float64Array, statistic: SampleStatistic): number {
  if (statistic.kind === "mean") return mean(values);
  return sortedQuantile(values.sort(), statistic.q);
}

function compare(first: number, second: number, comparison: Comparison): number {
  if (comparison === "difference") return second - first;
  if (first === 0) return second === 0 ? 1 : Number.POSITIVE_INFINITY;
  return second / first;
}

/**
 * A seeded two-sample bootstrap: each arm is resampled with replacement on its own, the statistic computed on each,
 * and the two compared. The same inputs and seed give the same draws.
 */
export function bootstrapComparison(options: {
  first: ArrayLike<number>;
  second: ArrayLike<number>;
  statistic: SampleStatistic;
  comparison: Comparison;
  resamples?: number;
  seed?: number;
}): BootstrapComparison {
  const { first, second, statistic, comparison } = options;
  const resamples = options.resamples ?? 1_000;
  const random = seededRandom(options.seed ?? 1);
  const estimate = compare(sampleStatistic(first, statistic), sampleStatistic(second, statistic), comparison);
  if (first.length === 0 || second.length === 0) return { estimate, draws: new Float64Array(0) };
  const firstResample = new Float64Array(first.length);
  const secondResample = new Float64Array(second.length);
  const draws = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < first.length; i++) firstResample[i] = first[Math.floor(random() * first.length)]!;
    for (let i = 0; i < second.length; i++) secondResample[i] = second[Math.floor(random() * second.length)]!;
    draws[r] = compare(
      statisticOf(firstResample, statistic),
      statisticOf(secondResample, statistic),
      comparison,
    );
  }
  return { estimate, draws: draws.sort() };
}

/**
 * The one-sided bootstrap p-value of "the compared value exceeds `threshold`": the share of draws at or below it,
 * with the +1 correction so a finite bootstrap never claims p = 0.
 */
export function bootstrapPValueAbove(draws: Float64Array, threshold: number): number {
  let atOrBelow = 0;
  for (const draw of draws) if (draw <= threshold) atOrBelow++;
  return (atOrBelow + 1) / (draws.length + 1);
}

/** The one-sided bootstrap p-value of "the compared value is below `threshold`". */
export function bootstrapPValueBelow(draws: Float64Array, threshold: number): number {
  let atOrAbove = 0;
  for (const draw of draws) if (draw >= threshold) atOrAbove++;
  return (atOrAbove + 1) / (draws.length + 1);
}

/** A two-sided percentile interval of bootstrap draws at `confidence`. */
export function bootstrapInterval(draws: Float64Array, confidence = 0.95): { low: number; high: number } {
  if (draws.length === 0) return { low: Number.NaN, high: Number.NaN };
  const alpha = (1 - confidence) / 2;
  return { low: sortedQuantile(draws, alpha), high: sortedQuantile(draws, 1 - alpha) };
}
