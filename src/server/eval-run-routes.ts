import type { Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import {
  type CaseResult,
  compareRuns,
  defaultBaseline,
  type EvalRunResult,
  type StoredEvalRun,
  sqlEvalResultStore,
  sqlJudgeCalibrationStore,
} from "../evals/index.ts";
import type { Store } from "../store/index.ts";
import { registerRoute } from "./register-route.ts";

/**
 * Stored eval runs over HTTP (`keel_eval_runs`, which `keel eval` fills when it has a database): an agent's runs,
 * one run with its cases, and two runs compared case by case; and its judges' calibrations
 * (`keel_judge_calibrations`, which `keel eval calibrate` fills likewise). Both name their agent, so they belong to
 * that agent's tenant; the authorization gate checks the agent in the path, and a run of another agent is not found.
 */
export function registerEvalRunRoutes(app: Hono, options: { store: Store }): void {
  const results = sqlEvalResultStore(options.store.sql);
  const calibrations = sqlJudgeCalibrationStore(options.store.sql);
  const runOf = async (agent: string, id: string): Promise<StoredEvalRun> => {
    const run = await results.get(id);
    if (!run || run.result.agent !== agent)
      throw new KeelError("not_found", `agent ${agent} has no eval run ${id}`);
    return run;
  };
  const defaultBaselineOf = async (current: StoredEvalRun): Promise<StoredEvalRun> => {
    const found = await defaultBaseline(results, current.result);
    const baseline = found ? await results.get(found.id) : null;
    if (!baseline)
      throw new KeelError(
        "not_found",
        `no baseline for eval run ${current.result.id}: no other version's run of ${current.result.dataset.name} passed its gate; name one with baseline=`,
      );
    return baseline;
  };

  registerRoute(app, API_ROUTES.listEvalRuns, async ({ params, query }, context) => {
    const runs = await results.list({
      agent: params.name,
      ...(query.dataset === undefined ? {} : { dataset: query.dataset }),
      ...(query.version === undefined ? {} : { version: query.version }),
      limit: query.limit,
    });
    return context.json({ agent: params.name, runs: runs.map(presentSummary) });
  });

  registerRoute(app, API_ROUTES.getEvalRun, async ({ params }, context) => {
    const run = await runOf(params.name, params.id);
    return context.json({ ...presentSummary(run), cases: run.result.cases });
  });

  registerRoute(app, API_ROUTES.compareEvalRuns, async ({ params, query }, context) => {
    const current = await runOf(params.name, params.id);
    const baseline =
      query.baseline === undefined
        ? await defaultBaselineOf(current)
        : await runOf(params.name, query.baseline);
    const comparison = compareRuns(baseline.result, current.result);
    return context.json({
      current: presentSummary(current),
      baseline: presentSummary(baseline),
      overall: comparison.overall,
      byCategory: comparison.byCategory,
      cases: pairCases(baseline.result, current.result),
    });
  });

  registerRoute(app, API_ROUTES.listJudgeCalibrations, async ({ params, query }, context) => {
    const list = await calibrations.list({
      agent: params.name,
      ...(query.judge === undefined ? {} : { judge: query.judge }),
      limit: query.limit,
    });
    return context.json({ agent: params.name, calibrations: list });
  });
}

function presentSummary({ result, gate }: StoredEvalRun) {
  const { cases: _cases, ...summary } = result;
  return { ...summary, gate };
}

const ORDER = { regressed: 0, improved: 1, added: 2, removed: 3, same: 4 } as const;

/** Every case of two runs paired by id, with each side's verdict and score; changed verdicts first. */
function pairCases(baseline: EvalRunResult, current: EvalRunResult) {
  const before = new Map(baseline.cases.map((result) => [result.caseId, result]));
  const now = new Map(current.cases.map((result) => [result.caseId, result]));
  const side = (result: CaseResult | undefined) =>
    result
      ? {
          passed: result.passed,
          score: result.score,
          ...(result.error === undefined ? {} : { error: result.error }),
        }
      : null;
  return [...new Set([...before.keys(), ...now.keys()])]
    .map((caseId) => {
      const old = before.get(caseId);
      const result = now.get(caseId);
      const change: keyof typeof ORDER = !old
        ? "added"
        : !result
          ? "removed"
          : old.passed === result.passed
            ? "same"
            : old.passed
              ? "regressed"
              : "improved";
      return {
        caseId,
        category: (result ?? old)!.category,
        change,
        baseline: side(old),
        current: side(result),
        scoreDelta: old && result ? result.score - old.score : null,
      };
    })
    .sort((a, b) => ORDER[a.change] - ORDER[b.change] || a.caseId.localeCompare(b.caseId));
}
