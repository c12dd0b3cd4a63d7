// Evals: versioned datasets, graders (deterministic, trajectory, governance, bounds, custom, LLM judges),
// eval runs with record-and-replay, comparisons with a paired test, gates, judge calibration and sampling.
export { agentEvalTarget, EVAL_PRINCIPAL } from "./agent-eval-target.ts";
export { buildGraders, type GraderRegistry } from "./build-graders.ts";
export { type CaseOutcome, outcomeFromEvents } from "./case-outcome.ts";
export { compareRuns, type RunComparison } from "./compare-runs.ts";
export { DEFAULT_GATE, decideGate, type GateOptions, type GateResult } from "./decide-gate.ts";
export { type DatasetFile, EvalCase, JudgeRubric } from "./eval-case.ts";
export type { CaseResult, EvalRunResult, ScoreSummary } from "./eval-result.ts";
export { type EvalTarget, functionEvalTarget } from "./eval-target.ts";
export { defineGrader, type Grade, type Grader } from "./grader.ts";
export { judgeGrader } from "./judge-grader.ts";
export { type Dataset, loadDataset } from "./load-dataset.ts";
export { createRecordReplayModelProvider, type RecordingMode } from "./record-replay-model-provider.ts";
export { runEval } from "./run-eval.ts";
