import type { Grade } from "./grader.ts";

/** One case's result: its grades, whether it passed, and a summary of what its run did. */
export type CaseResult = {
  caseId: string;
  category: string;
  tags: string[];
  passed: boolean;
  /** Mean score of the grades that count (advisory judges excluded). */
  score: number;
  grades: Grade[];
  run: {
    runId: string | null;
    status: string;
    answer: string | null;
    tools: string[];
    /** Tools that actually executed. */
    executed: string[];
    steps: number;
    costUsd: number;
    latencyMs: number;
  };
  /** The case could not be run or graded at all (a harness error, not a failed expectation). */
  error?: string;
  /** For adversarial cases: the attack class and whether it is a benign control. */
  attack?: { class: string; benign: boolean };
};

/** Totals for a set of cases. */
export type ScoreSummary = {
  total: number;
  passed: number;
  failed: number;
  errored: number;
  passRate: number;
  meanScore: number;
};

/** One eval run of one dataset against one agent version, as stored and exported. */
export type EvalRunResult = {
  id: string;
  agent: string;
  version: string;
  model: string;
  /** The target gives the same verdicts on every run (offline model, replay, function). */
  deterministic: boolean;
  dataset: { name: string; kind: string; version: string; file: string };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  concurrency: number;
  summary: ScoreSummary;
  byCategory: Record<string, ScoreSummary>;
  cases: CaseResult[];
  /** Judges that graded without meeting the calibration bar: their grades did not count. */
  advisoryJudges: string[];
};

/** Totals over the given cases; the pass rate of no cases is 0. */
export function summarize(cases: readonly CaseResult[]): ScoreSummary {
  const passed = cases.filter((result) => result.passed).length;
  const errored = cases.filter((result) => result.error !== undefined).length;
  const total = cases.length;
  return {
    total,
    passed,
    failed: total - passed,
    errored,
    passRate: total === 0 ? 0 : passed / total,
    meanScore: total === 0 ? 0 : cases.reduce((sum, result) => sum + result.score, 0) / total,
  };
}

/** Per-category totals, categories in name order. */
export function summarizeByCategory(cases: readonly CaseResult[]): Record<string, ScoreSummary> {
  const groups = new Map<string, CaseResult[]>();
  for (const result of cases) groups.set(result.category, [...(groups.get(result.category) ?? []), result]);
  return Object.fromEntries(
    [...groups.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, group]) => [name, summarize(group)]),
  );
}
