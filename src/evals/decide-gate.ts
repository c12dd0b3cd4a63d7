import type { RunComparison } from "./compare-runs.ts";
import type { EvalRunResult } from "./eval-result.ts";

/** The bar a version must clear: an absolute pass rate, and the largest regression against a baseline. */
export type GateOptions = {
  /** Lowest acceptable pass rate (0–1); the spec's `evals.gate.minScore`. */
  minScore: number;
  /** Largest acceptable drop in pass rate against the baseline (0–1); the spec's `evals.gate.maxRegression`. */
  maxRegression: number;
  /**
   * A drop counts as a regression only when McNemar's p-value is below this (default 0.05) — unless the eval
   * is deterministic, where every verdict repeats exactly and any drop beyond the threshold is real.
   */
  alpha?: number;
};

/** The gate's verdict, with every reason it failed. */
export type GateResult = {
  passed: boolean;
  passRate: number;
  minScore: number;
  maxRegression: number;
  baseline: { id: string; version: string; delta: number; pValue: number } | null;
  reasons: string[];
};

/** Default bar when the spec sets none. */
export const DEFAULT_GATE: GateOptions = { minScore: 0.9, maxRegression: 0.02, alpha: 0.05 };

/**
 * Decide the gate: fail when the pass rate is below the absolute bar, or when the pass rate fell by more than
 * the allowed regression, overall or in any category, and the fall is significant (McNemar) or the eval is
 * deterministic (its verdicts repeat exactly, so any fall is real).
 */
export function decideGate(
  result: EvalRunResult,
  comparison: RunComparison | null,
  options: GateOptions,
): GateResult {
  const alpha = options.alpha ?? 0.05;
  const reasons: string[] = [];
  const passRate = result.summary.passRate;
  if (result.summary.total === 0) reasons.push("no case was run");
  if (passRate < options.minScore)
    reasons.push(`pass rate ${percent(passRate)} is below the bar of ${percent(options.minScore)}`);
  if (comparison) {
    const groups = [["overall", comparison.overall] as const, ...Object.entries(comparison.byCategory)];
    for (const [name, group] of groups) {
      if (-group.delta > options.maxRegression && (result.deterministic || group.pValue < alpha)) {
        reasons.push(
          `${name}: pass rate fell ${percent(-group.delta)} against ${comparison.baselineVersion} (${group.regressed} regressed, ${group.improved} improved, McNemar p = ${group.pValue.toPrecision(3)}), more than the ${percent(options.maxRegression)} allowed`,
        );
      }
    }
  }
  return {
    passed: reasons.length === 0,
    passRate,
    minScore: options.minScore,
    maxRegression: options.maxRegression,
    baseline: comparison
      ? {
          id: comparison.baselineId,
          version: comparison.baselineVersion,
          delta: comparison.overall.delta,
          pValue: comparison.overall.pValue,
        }
      : null,
    reasons,
  };
}

function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}
