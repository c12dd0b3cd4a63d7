import type { CaseResult, EvalRunResult } from "./eval-result.ts";
import { bootstrapInterval, mcnemarExact } from "./statistics.ts";

/** How one group of paired cases moved between a baseline run and this one. */
export type GroupComparison = {
  /** Cases present in both runs. */
  paired: number;
  baselinePassRate: number;
  currentPassRate: number;
  /** current − baseline pass rate over the paired cases (negative is a regression). */
  delta: number;
  /** Passed before, fail now. */
  regressed: number;
  /** Failed before, pass now. */
  improved: number;
  /** McNemar's exact two-sided p-value on the discordant pairs. */
  pValue: number;
  /** 95% paired bootstrap interval of the delta. */
  deltaInterval: { low: number; high: number };
};

/** A comparison of this run with a baseline, overall, per category and per case. */
export type RunComparison = {
  baselineId: string;
  baselineVersion: string;
  overall: GroupComparison;
  byCategory: Record<string, GroupComparison>;
  /** Cases whose verdict changed, regressions first. */
  changed: { caseId: string; category: string; change: "regressed" | "improved" }[];
  /** Cases only in one of the two runs. */
  added: string[];
  removed: string[];
};

/** Pair two runs' cases by id and compare them overall and per category, with a paired significance test. */
export function compareRuns(baseline: EvalRunResult, current: EvalRunResult): RunComparison {
  const before = new Map(baseline.cases.map((result) => [result.caseId, result]));
  const now = new Map(current.cases.map((result) => [result.caseId, result]));
  const pairs: [CaseResult, CaseResult][] = [];
  for (const [id, result] of now) {
    const old = before.get(id);
    if (old) pairs.push([old, result]);
  }
  const categories = [...new Set(pairs.map(([, result]) => result.category))].sort();
  const changed: RunComparison["changed"] = pairs.flatMap(([old, result]) =>
    old.passed === result.passed
      ? []
      : [
          {
            caseId: result.caseId,
            category: result.category,
            change: old.passed ? ("regressed" as const) : ("improved" as const),
          },
        ],
  );
  changed.sort((a, b) =>
    a.change === b.change ? a.caseId.localeCompare(b.caseId) : a.change === "regressed" ? -1 : 1,
  );
  return {
    baselineId: baseline.id,
    baselineVersion: baseline.version,
    overall: compareGroup(pairs),
    byCategory: Object.fromEntries(
      categories.map((category) => [
        category,
        compareGroup(pairs.filter(([, result]) => result.category === category)),
      ]),
    ),
    changed,
    added: [...now.keys()].filter((id) => !before.has(id)).sort(),
    removed: [...before.keys()].filter((id) => !now.has(id)).sort(),
  };
}

function compareGroup(pairs: readonly [CaseResult, CaseResult][]): GroupComparison {
  const paired = pairs.length;
  const old = pairs.map(([result]) => (result.passed ? 1 : 0));
  const current = pairs.map(([, result]) => (result.passed ? 1 : 0));
  const rate = (values: readonly number[], indices?: readonly number[]) => {
    const chosen = indices ?? values.map((_, index) => index);
    return chosen.length === 0 ? 0 : chosen.reduce((sum, index) => sum + values[index]!, 0) / chosen.length;
  };
  let regressed = 0;
  let improved = 0;
  for (let i = 0; i < paired; i++) {
    if (old[i] === 1 && current[i] === 0) regressed += 1;
    if (old[i] === 0 && current[i] === 1) improved += 1;
  }
  const baselinePassRate = rate(old);
  const currentPassRate = rate(current);
  return {
    paired,
    baselinePassRate,
    currentPassRate,
    delta: currentPassRate - baselinePassRate,
    regressed,
    improved,
    pValue: mcnemarExact(regressed, improved),
    deltaInterval: bootstrapInterval({
      size: paired,
      statistic: (indices) => rate(current, indices) - rate(old, indices),
      seed: 7,
    }),
  };
}
