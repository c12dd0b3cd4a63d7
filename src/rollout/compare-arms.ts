import { type ArmSample, MIN_OBSERVATIONS_PER_ARM } from "./judge-stage.ts";
import {
  bootstrapComparison,
  bootstrapInterval,
  bootstrapPValueAbove,
  bootstrapPValueBelow,
  type Proportion,
  proportionDifferenceInterval,
  type SampleStatistic,
  sampleStatistic,
  twoProportionZTest,
} from "./statistics.ts";

/** The metrics an A/B test compares, the same ones the canary gates watch. */
export type ArmMetric =
  | "successRate"
  | "p95LatencyMs"
  | "costPerRun"
  | "evalScore"
  | "guardFlagRate"
  | "approvalRejectionRate";

/** What the comparison of one metric concluded. */
export type ArmVerdict =
  | "candidate better"
  | "candidate worse"
  | "no significant difference"
  | "not enough data";

/** One metric of an A/B comparison: both values, their difference with its interval, the test and its verdict. */
export type MetricComparison = {
  metric: ArmMetric;
  stable: number | null;
  candidate: number | null;
  /** candidate − stable. */
  difference: number | null;
  /** Two-sided interval of the difference at the comparison's confidence. */
  interval: { low: number; high: number } | null;
  test: string;
  /** Two-sided p-value of "the arms do not differ". */
  pValue: number | null;
  verdict: ArmVerdict;
  /** One line a person can read. */
  conclusion: string;
};

/** An A/B comparison of two arms at a stated confidence. */
export type ArmComparison = { confidence: number; metrics: MetricComparison[] };

const RESAMPLES = 1_000;

type MetricShape = {
  name: string;
  better: "higher" | "lower";
  format: (value: number) => string;
  formatDifference: (value: number) => string;
};

const METRICS: Record<ArmMetric, MetricShape> = {
  successRate: { name: "success rate", better: "higher", format: percent, formatDifference: points },
  p95LatencyMs: {
    name: "p95 latency",
    better: "lower",
    format: (value) => `${Math.round(value)} ms`,
    formatDifference: (value) => `${signed(Math.round(value))} ms`,
  },
  costPerRun: {
    name: "mean cost per run",
    better: "lower",
    format: (value) => `$${value.toFixed(4)}`,
    formatDifference: (value) => `${value < 0 ? "-" : "+"}$${Math.abs(value).toFixed(4)}`,
  },
  evalScore: {
    name: "mean eval score",
    better: "higher",
    format: (value) => value.toFixed(3),
    formatDifference: (value) => `${value < 0 ? "" : "+"}${value.toFixed(3)}`,
  },
  guardFlagRate: { name: "guard flag rate", better: "lower", format: percent, formatDifference: points },
  approvalRejectionRate: {
    name: "approval rejection rate",
    better: "lower",
    format: percent,
    formatDifference: points,
  },
};

/**
 * Compare an A/B test's arms metric by metric: rates by a two-sided two-proportion z-test with an Agresti–Caffo
 * interval, the p95 latency and the means of cost and eval score by a seeded two-sample bootstrap. Each metric says
 * whether the candidate is significantly better, worse, or neither; the decision to end the test stays a person's.
 */
export function compareArms(
  stable: ArmSample,
  candidate: ArmSample,
  confidence = 0.95,
  seed = 1,
): ArmComparison {
  const rate = (metric: ArmMetric, of: (arm: ArmSample) => Proportion) =>
    compareRates(metric, of(stable), of(candidate), confidence);
  const values = (
    metric: ArmMetric,
    of: (arm: ArmSample) => number[],
    statistic: SampleStatistic,
    offset: number,
  ) => compareValues(metric, of(stable), of(candidate), statistic, confidence, seed + offset);
  return {
    confidence,
    metrics: [
      rate("successRate", (arm) => ({ count: arm.runs - arm.failures, total: arm.runs })),
      values("p95LatencyMs", (arm) => arm.latenciesMs, { kind: "quantile", q: 0.95 }, 1),
      values("costPerRun", (arm) => arm.costsUsd, { kind: "mean" }, 2),
      values("evalScore", (arm) => arm.evalScores, { kind: "mean" }, 3),
      rate("guardFlagRate", (arm) => ({ count: arm.guardFlags, total: arm.runs })),
      rate("approvalRejectionRate", (arm) => ({
        count: arm.approvals.rejected,
        total: arm.approvals.decided,
      })),
    ],
  };
}

function compareRates(
  metric: ArmMetric,
  stable: Proportion,
  candidate: Proportion,
  confidence: number,
): MetricComparison {
  const test = "two-sided two-proportion z-test";
  const stableRate = stable.total === 0 ? null : stable.count / stable.total;
  const candidateRate = candidate.total === 0 ? null : candidate.count / candidate.total;
  if (
    stableRate === null ||
    candidateRate === null ||
    Math.min(stable.total, candidate.total) < MIN_OBSERVATIONS_PER_ARM
  ) {
    return notEnough(metric, stableRate, candidateRate, test);
  }
  const { pValue: oneSided } = twoProportionZTest(stable, candidate);
  const pValue = Math.min(1, 2 * Math.min(oneSided, 1 - oneSided));
  const interval = proportionDifferenceInterval(stable, candidate, confidence);
  return conclude(
    metric,
    stableRate,
    candidateRate,
    candidateRate - stableRate,
    interval,
    test,
    pValue,
    confidence,
  );
}

function compareValues(
  metric: ArmMetric,
  stable: number[],
  candidate: number[],
  statistic: SampleStatistic,
  confidence: number,
  seed: number,
): MetricComparison {
  const test =
    statistic.kind === "mean"
      ? "two-sided bootstrap of the mean difference"
      : "two-sided bootstrap of the p95 difference";
  const stableValue = stable.length === 0 ? null : sampleStatistic(stable, statistic);
  const candidateValue = candidate.length === 0 ? null : sampleStatistic(candidate, statistic);
  if (
    stableValue === null ||
    candidateValue === null ||
    Math.min(stable.length, candidate.length) < MIN_OBSERVATIONS_PER_ARM
  ) {
    return notEnough(metric, stableValue, candidateValue, test);
  }
  const { estimate, draws } = bootstrapComparison({
    first: stable,
    second: candidate,
    statistic,
    comparison: "difference",
    resamples: RESAMPLES,
    seed,
  });
  const pValue = Math.min(1, 2 * Math.min(bootstrapPValueAbove(draws, 0), bootstrapPValueBelow(draws, 0)));
  const interval = bootstrapInterval(draws, confidence);
  return conclude(metric, stableValue, candidateValue, estimate, interval, test, pValue, confidence);
}

function conclude(
  metric: ArmMetric,
  stable: number,
  candidate: number,
  difference: number,
  interval: { low: number; high: number },
  test: string,
  pValue: number,
  confidence: number,
): MetricComparison {
  const shape = METRICS[metric];
  const significant = pValue < 1 - confidence;
  const candidateHigher = difference > 0;
  const verdict: ArmVerdict = !significant
    ? "no significant difference"
    : candidateHigher === (shape.better === "higher")
      ? "candidate better"
      : "candidate worse";
  const level = `${Math.round(confidence * 100)}%`;
  const conclusion =
    `${capitalize(verdict)} on ${shape.name}: ${shape.format(candidate)} against ${shape.format(stable)} ` +
    `(${shape.formatDifference(difference)}, ${level} interval ${shape.formatDifference(interval.low)} to ` +
    `${shape.formatDifference(interval.high)}, p = ${pValue.toPrecision(2)}).`;
  return { metric, stable, candidate, difference, interval, test, pValue, verdict, conclusion };
}

function notEnough(
  metric: ArmMetric,
  stable: number | null,
  candidate: number | null,
  test: string,
): MetricComparison {
  return {
    metric,
    stable,
    candidate,
    difference: stable === null || candidate === null ? null : candidate - stable,
    interval: null,
    test,
    pValue: null,
    verdict: "not enough data",
    conclusion: `Not enough data on ${METRICS[metric].name}: each arm needs at least ${MIN_OBSERVATIONS_PER_ARM} observations.`,
  };
}

function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

function points(value: number): string {
  return `${signed(Number((value * 100).toFixed(1)))} points`;
}

function signed(value: number): string {
  return value > 0 ? `+${value}` : `${value}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
