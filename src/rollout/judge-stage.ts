import { KeelError } from "../errors/index.ts";
import {
  bootstrapComparison,
  bootstrapPValueAbove,
  bootstrapPValueBelow,
  type Comparison,
  type SampleStatistic,
  sampleStatistic,
  twoProportionZTest,
} from "./statistics.ts";

/** What one arm (stable or candidate) did during a stage: runs that ended in it. */
export type ArmSample = {
  /** Runs that ended (completed or failed; cancelled runs are not counted). */
  runs: number;
  /** Of those, runs that ended failed. */
  failures: number;
  /** Each ended run's duration, start to end. */
  latenciesMs: number[];
  /** Each ended run's priced cost. */
  costsUsd: number[];
  /** Production-sampled eval scores in [0, 1] (may be empty). */
  evalScores: number[];
  /** Runs with at least one guard finding. */
  guardFlags: number;
  approvals: { decided: number; rejected: number };
};

/** The spec's canary gates (every field optional; an absent gate is not checked). */
export type CanaryGates = {
  /** Absolute, e.g. 0.05 = 5 points. */
  successRate?: { maxDrop: number };
  /** Candidate p95 ÷ stable p95, e.g. 1.25. */
  p95LatencyMs?: { maxRatio: number };
  costPerRun?: { maxRatio: number };
  evalScore?: { maxDrop: number };
  guardFlagRate?: { maxRise: number };
  approvalRejectionRate?: { maxRise: number };
  /** Default 0.95. */
  confidence?: number;
};

/** The name of one gate. */
export type GateName = keyof Omit<CanaryGates, "confidence">;

/** One gate's evidence and what it concluded. */
export type GateResult = {
  gate: GateName;
  stable: number | null;
  candidate: number | null;
  /** The test used, e.g. "one-sided two-proportion z-test", "bootstrap of p95 ratio". */
  test: string;
  pValue: number | null;
  /** The candidate is worse than allowed, significantly. */
  breached: boolean;
  /** Enough evidence either way for this gate. */
  decided: boolean;
};

/** What a stage should do next, why, and each gate's evidence. */
export type StageVerdict = {
  action: "wait" | "advance" | "rollback";
  /** One sentence a person can read. */
  reason: string;
  gates: GateResult[];
};

/**
 * The fewest observations per arm a gate tests: below it the normal approximation and the bootstrap are both
 * unreliable (one failed run out of one would otherwise look like a 100% failure rate), so the gate waits.
 */
export const MIN_OBSERVATIONS_PER_ARM = 10;

const BOOTSTRAP_RESAMPLES = 1_000;

const GATE_ORDER: readonly GateName[] = [
  "successRate",
  "p95LatencyMs",
  "costPerRun",
  "evalScore",
  "guardFlagRate",
  "approvalRejectionRate",
];

/**
 * Judge one canary stage from what each arm did in it. A gate is breached only when the candidate is worse than the
 * gate allows with the stated confidence, and a breach rolls back at once, before `minRuns` (a clear regression
 * need not wait); the stage advances only with `minRuns` candidate runs, after `minDurationMs`, with no breach, and
 * with every gate that has enough observations to test showing the candidate within its limit.
 */
export function judgeStage(input: {
  stable: ArmSample;
  candidate: ArmSample;
  gates: CanaryGates;
  minRuns: number;
  elapsedMs: number;
  minDurationMs: number;
  seed?: number;
}): StageVerdict {
  const confidence = input.gates.confidence ?? 0.95;
  if (!(confidence > 0.5 && confidence < 1)) {
    throw new KeelError(
      "invalid_spec",
      `gates.confidence must be between 0.5 and 1 (exclusive), got ${confidence}`,
      {
        issues: [{ path: "gates.confidence", message: "must be between 0.5 and 1 (exclusive)" }],
      },
    );
  }
  const alpha = 1 - confidence;
  const seed = input.seed ?? 1;
  const gates: GateResult[] = [];
  GATE_ORDER.forEach((gate, index) => {
    const result = judgeGate(gate, input.stable, input.candidate, input.gates, alpha, seed + index);
    if (result !== undefined) gates.push(result);
  });

  const breached = gates.filter((gate) => gate.breached);
  if (breached.length > 0) {
    return { action: "rollback", reason: `Roll back: ${breached.map(describeBreach).join("; ")}.`, gates };
  }
  const missing: string[] = [];
  if (input.candidate.runs < input.minRuns)
    missing.push(`${input.candidate.runs} of ${input.minRuns} candidate runs`);
  if (input.elapsedMs < input.minDurationMs) {
    missing.push(`${formatDuration(input.elapsedMs)} of ${formatDuration(input.minDurationMs)}`);
  }
  if (missing.length > 0) {
    return {
      action: "wait",
      reason: `Wait: the stage has ${missing.join(" and ")}; no gate is breached.`,
      gates,
    };
  }
  // A gate with enough observations to test must also show the candidate within its limit: without this a candidate
  // worse than allowed, but not yet significantly, would advance at minRuns (about one in seven 20-point
  // regressions at 50 runs).
  const undecided = gates.filter((gate) => gate.pValue !== null && !gate.decided);
  if (undecided.length > 0) {
    const names = undecided.map((gate) => GATE_WORDS[gate.gate].name).join(", ");
    return {
      action: "wait",
      reason: `Wait: the evidence does not yet show the candidate's ${names} within the gate's limit, nor beyond it.`,
      gates,
    };
  }
  return {
    action: "advance",
    reason: `Advance: ${input.candidate.runs} candidate runs over ${formatDuration(input.elapsedMs)} and no gate shows the candidate worse than allowed.`,
    gates,
  };
}

function judgeGate(
  gate: GateName,
  stable: ArmSample,
  candidate: ArmSample,
  gates: CanaryGates,
  alpha: number,
  seed: number,
): GateResult | undefined {
  switch (gate) {
    case "successRate": {
      const limit = gates.successRate;
      if (limit === undefined) return undefined;
      // Success falling by more than maxDrop is failure rising by more than maxDrop.
      const result = proportionGate(
        gate,
        { count: stable.failures, total: stable.runs },
        { count: candidate.failures, total: candidate.runs },
        limit.maxDrop,
        alpha,
      );
      return {
        ...result,
        stable: result.stable === null ? null : 1 - result.stable,
        candidate: result.candidate === null ? null : 1 - result.candidate,
      };
    }
    case "guardFlagRate": {
      const limit = gates.guardFlagRate;
      if (limit === undefined) return undefined;
      return proportionGate(
        gate,
        { count: stable.guardFlags, total: stable.runs },
        { count: candidate.guardFlags, total: candidate.runs },
        limit.maxRise,
        alpha,
      );
    }
    case "approvalRejectionRate": {
      const limit = gates.approvalRejectionRate;
      if (limit === undefined) return undefined;
      return proportionGate(
        gate,
        { count: stable.approvals.rejected, total: stable.approvals.decided },
        { count: candidate.approvals.rejected, total: candidate.approvals.decided },
        limit.maxRise,
        alpha,
      );
    }
    case "p95LatencyMs": {
      const limit = gates.p95LatencyMs;
      if (limit === undefined) return undefined;
      return bootstrapGate(gate, stable.latenciesMs, candidate.latenciesMs, {
        statistic: { kind: "quantile", q: 0.95 },
        comparison: "ratio",
        limit: limit.maxRatio,
        worse: "higher",
        alpha,
        seed,
        test: "one-sided bootstrap of the p95 ratio",
      });
    }
    case "costPerRun": {
      const limit = gates.costPerRun;
      if (limit === undefined) return undefined;
      return bootstrapGate(gate, stable.costsUsd, candidate.costsUsd, {
        statistic: { kind: "mean" },
        comparison: "ratio",
        limit: limit.maxRatio,
        worse: "higher",
        alpha,
        seed,
        test: "one-sided bootstrap of the mean cost ratio",
      });
    }
    case "evalScore": {
      const limit = gates.evalScore;
      if (limit === undefined) return undefined;
      return bootstrapGate(gate, stable.evalScores, candidate.evalScores, {
        statistic: { kind: "mean" },
        comparison: "difference",
        limit: limit.maxDrop,
        worse: "lower",
        alpha,
        seed,
        test: "one-sided bootstrap of the mean score difference",
      });
    }
    default: {
      const unreachable: never = gate;
      return unreachable;
    }
  }
}

/** A rate gate: breached when the candidate's rate exceeds stable's by more than `margin`, significantly. */
function proportionGate(
  gate: GateName,
  stable: { count: number; total: number },
  candidate: { count: number; total: number },
  margin: number,
  alpha: number,
): GateResult {
  const test = "one-sided two-proportion z-test";
  const stableRate = stable.total === 0 ? null : stable.count / stable.total;
  const candidateRate = candidate.total === 0 ? null : candidate.count / candidate.total;
  if (Math.min(stable.total, candidate.total) < MIN_OBSERVATIONS_PER_ARM) {
    return {
      gate,
      stable: stableRate,
      candidate: candidateRate,
      test,
      pValue: null,
      breached: false,
      decided: false,
    };
  }
  const { pValue } = twoProportionZTest(stable, candidate, margin);
  // The opposite one-sided test (the rise is within the margin) is 1 − p for a continuous statistic.
  return {
    gate,
    stable: stableRate,
    candidate: candidateRate,
    test,
    pValue,
    breached: pValue < alpha,
    decided: pValue < alpha || 1 - pValue < alpha,
  };
}

/**
 * A gate on a statistic of per-run values. `worse: "higher"` compares candidate against stable (a ratio or rise
 * beyond `limit` breaches); `worse: "lower"` compares stable against candidate (a drop beyond `limit` breaches).
 */
function bootstrapGate(
  gate: GateName,
  stable: number[],
  candidate: number[],
  options: {
    statistic: SampleStatistic;
    comparison: Comparison;
    limit: number;
    worse: "higher" | "lower";
    alpha: number;
    seed: number;
    test: string;
  },
): GateResult {
  const { statistic, alpha, test } = options;
  const value = (values: number[]) => (values.length === 0 ? null : sampleStatistic(values, statistic));
  const result = { gate, stable: value(stable), candidate: value(candidate), test };
  if (Math.min(stable.length, candidate.length) < MIN_OBSERVATIONS_PER_ARM) {
    return { ...result, pValue: null, breached: false, decided: false };
  }
  const [first, second] = options.worse === "higher" ? [stable, candidate] : [candidate, stable];
  const { draws } = bootstrapComparison({
    first,
    second,
    statistic,
    comparison: options.comparison,
    resamples: BOOTSTRAP_RESAMPLES,
    seed: options.seed,
  });
  const pValue = bootstrapPValueAbove(draws, options.limit);
  const within = bootstrapPValueBelow(draws, options.limit);
  return { ...result, pValue, breached: pValue < alpha, decided: pValue < alpha || within < alpha };
}

const GATE_WORDS: Record<GateName, { name: string; format: (value: number) => string }> = {
  successRate: { name: "success rate", format: percent },
  p95LatencyMs: { name: "p95 latency", format: (value) => `${Math.round(value)} ms` },
  costPerRun: { name: "cost per run", format: (value) => `$${value.toFixed(4)}` },
  evalScore: { name: "eval score", format: (value) => value.toFixed(3) },
  guardFlagRate: { name: "guard flag rate", format: percent },
  approvalRejectionRate: { name: "approval rejection rate", format: percent },
};

function describeBreach(result: GateResult): string {
  const words = GATE_WORDS[result.gate];
  const value = (number: number | null) => (number === null ? "n/a" : words.format(number));
  const p = result.pValue === null ? "" : `, p = ${result.pValue.toPrecision(2)}`;
  return `the candidate's ${words.name} (${value(result.candidate)}) is worse than stable's (${value(result.stable)}) by more than the gate allows (${result.test}${p})`;
}

function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

function formatDuration(milliseconds: number): string {
  const seconds = Math.round(milliseconds / 1000);
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  return `${(minutes / 60).toFixed(1)} h`;
}
