// The dataset format is a spec format (src/spec/eval-dataset.ts); evals use it from here.
export {
  type BoundsExpectation,
  CaseExpectation,
  CorpusImport,
  DatasetFile,
  EvalCase,
  type EvalCaseInput,
  GovernanceOutcome,
  JudgeRubric,
  NodeExpectation,
  OutputExpectation,
  ToolExpectation,
} from "../spec/index.ts";
