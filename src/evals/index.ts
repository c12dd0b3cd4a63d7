// Evals: versioned datasets, graders (deterministic, trajectory, governance, bounds, custom, LLM judges),
// eval runs with record-and-replay, comparisons with a paired test, gates, judge calibration and sampling.
export { agentEvalTarget, EVAL_PRINCIPAL } from "./agent-eval-target.ts";
export { buildGraders, type GraderRegistry } from "./build-graders.ts";
export { calibrateJudge, type JudgeCalibration, loadJudgeLabels } from "./calibrate-judge.ts";
export { type CaseOutcome, outcomeFromEvents } from "./case-outcome.ts";
export { compareRuns, type RunComparison } from "./compare-runs.ts";
export { DEFAULT_GATE, decideGate, type GateOptions, type GateResult } from "./decide-gate.ts";
export { type DatasetFile, EvalCase, JudgeRubric } from "./eval-case.ts";
export type { CaseResult, EvalRunResult, ScoreSummary } from "./eval-result.ts";
export {
  defaultBaseline,
  directoryEvalResultStore,
  type EvalResultStore,
  latestGateResult,
  type StoredEvalRun,
  sqlEvalResultStore,
} from "./eval-result-store.ts";
export { type EvalTarget, functionEvalTarget } from "./eval-target.ts";
export { type EvalsSection, parseEvalsSection } from "./evals-section.ts";
export { type EvaluationEvent, sqlEvaluationLog } from "./evaluation-log.ts";
export { exportJunit } from "./export-junit.ts";
export { formatEvalReport } from "./format-eval-report.ts";
export { defineGrader, type Grade, type Grader } from "./grader.ts";
export { appendCase, caseFromFeedback, caseFromRun } from "./import-cases.ts";
export {
  type JudgeCalibrationStore,
  judgeCalibrationRecord,
  type StoredJudgeCalibration,
  sqlJudgeCalibrationStore,
} from "./judge-calibration-store.ts";
export { judgeGrader } from "./judge-grader.ts";
export { type Dataset, loadDataset } from "./load-dataset.ts";
export { loadGraderModule } from "./load-grader-module.ts";
export { createProductionSampler, type ProductionSampler, type SamplingPlan } from "./production-sampler.ts";
export { progressReporter } from "./progress-reporter.ts";
export {
  createRecordReplayModelProvider,
  type RecordingMode,
  type RecordReplayModelProvider,
} from "./record-replay-model-provider.ts";
export { runEval } from "./run-eval.ts";
