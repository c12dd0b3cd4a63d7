import { randomUUID } from "node:crypto";
import { buildGraders, type GraderRegistry } from "./build-graders.ts";
import type { CaseOutcome } from "./case-outcome.ts";
import type { EvalCase } from "./eval-case.ts";
import { type CaseResult, type EvalRunResult, summarize, summarizeByCategory } from "./eval-result.ts";
import type { EvalTarget } from "./eval-target.ts";
import type { Grade, Grader } from "./grader.ts";
import type { Dataset } from "./load-dataset.ts";

/** Reported after each case: how far the eval is, and the case just graded. */
export type EvalProgress = { done: number; total: number; passed: number; last: CaseResult };

/** What to run (a dataset against a target), how (graders, concurrency, filter) and whom to tell. */
export type RunEvalOptions = {
  dataset: Dataset;
  target: EvalTarget;
  graders?: GraderRegistry;
  /** Cases in flight at once (default 8). */
  concurrency?: number;
  /** Only cases with one of these tags or categories (empty: all). */
  filter?: readonly string[];
  onProgress?: (progress: EvalProgress) => void;
  signal?: AbortSignal;
  now?: () => Date;
  id?: string;
};

/**
 * Run every case of a dataset against a target with bounded concurrency, grade each outcome, and summarise by
 * category. Graders are built before anything runs, so a case naming an unknown judge fails fast. A case
 * whose run throws is recorded as errored (and failed) rather than ending the eval.
 */
export async function runEval(options: RunEvalOptions): Promise<EvalRunResult> {
  const { dataset, target } = options;
  const now = options.now ?? (() => new Date());
  const signal = options.signal ?? new AbortController().signal;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const filter = options.filter ?? [];
  const cases = dataset.cases.filter(
    (evalCase) =>
      filter.length === 0 ||
      filter.includes(evalCase.category) ||
      evalCase.tags.some((tag) => filter.includes(tag)),
  );
  const graders = new Map(cases.map((evalCase) => [evalCase.id, buildGraders(evalCase, options.graders)]));
  const advisory = new Set<string>();
  const startedAt = now();
  const started = performance.now();
  const results: CaseResult[] = new Array(cases.length);
  let next = 0;
  let done = 0;
  let passed = 0;

  async function lane(): Promise<void> {
    while (next < cases.length && !signal.aborted) {
      const index = next++;
      const evalCase = cases[index]!;
      const result = await runCase(evalCase, graders.get(evalCase.id) ?? [], target, signal);
      for (const grade of result.grades) if (grade.advisory) advisory.add(grade.grader);
      results[index] = result;
      done += 1;
      if (result.passed) passed += 1;
      options.onProgress?.({ done, total: cases.length, passed, last: result });
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, cases.length) }, lane));
  const finished = results.filter((result) => result !== undefined);
  return {
    id: options.id ?? `eval_${startedAt.getTime().toString(36)}${randomUUID().slice(0, 8)}`,
    agent: target.agent,
    version: target.version,
    model: target.model,
    deterministic: target.deterministic ?? false,
    dataset: { name: dataset.dataset, kind: dataset.kind, version: dataset.version, file: dataset.file },
    startedAt: startedAt.toISOString(),
    finishedAt: now().toISOString(),
    durationMs: Math.round(performance.now() - started),
    concurrency,
    summary: summarize(finished),
    byCategory: summarizeByCategory(finished),
    cases: finished,
    advisoryJudges: [...advisory].sort(),
  };
}

/** Run and grade one case. */
export async function runCase(
  evalCase: EvalCase,
  graders: readonly Grader[],
  target: EvalTarget,
  signal: AbortSignal,
): Promise<CaseResult> {
  let outcome: CaseOutcome;
  try {
    outcome = await target.run(evalCase, { signal });
  } catch (error) {
    return caseResult(evalCase, emptyOutcome(), [], `the case did not run: ${message(error)}`);
  }
  const grades: Grade[] = [];
  for (const grader of graders) {
    try {
      grades.push(await grader.grade({ case: evalCase, outcome, signal }));
    } catch (error) {
      grades.push({
        grader: grader.name,
        kind: grader.kind,
        passed: false,
        score: 0,
        reason: `the grader failed: ${message(error)}`,
      });
    }
  }
  return caseResult(evalCase, outcome, grades);
}

function caseResult(evalCase: EvalCase, outcome: CaseOutcome, grades: Grade[], error?: string): CaseResult {
  const counted = grades.filter((grade) => !grade.advisory);
  // A case with no expectations passes when its run did not fail.
  const passed =
    error === undefined &&
    (counted.length > 0 ? counted.every((grade) => grade.passed) : outcome.status !== "failed");
  const score =
    error !== undefined
      ? 0
      : counted.length > 0
        ? counted.reduce((sum, grade) => sum + grade.score, 0) / counted.length
        : passed
          ? 1
          : 0;
  return {
    caseId: evalCase.id,
    category: evalCase.category,
    tags: evalCase.tags,
    passed,
    score,
    grades,
    run: {
      runId: outcome.runId,
      status: outcome.status,
      answer: outcome.answer,
      tools: outcome.toolCalls.map((call) => call.tool),
      executed: outcome.toolCalls.filter((call) => call.executed).map((call) => call.tool),
      steps: outcome.steps,
      costUsd: outcome.costUsd,
      latencyMs: outcome.latencyMs,
    },
    ...(error === undefined ? {} : { error }),
    ...(evalCase.attack ? { attack: { class: evalCase.attack.class, benign: evalCase.attack.benign } } : {}),
  };
}

function emptyOutcome(): CaseOutcome {
  return {
    runId: null,
    status: "failed",
    answer: null,
    error: null,
    toolCalls: [],
    approvals: [],
    nodes: [],
    steps: 0,
    costUsd: 0,
    latencyMs: 0,
  };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
