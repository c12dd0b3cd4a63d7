// runtime/: running agents: run state, the interpreter over graphs of nodes, model and tool calls under the
// governor, approvals and hand-offs, workers holding leases, starting runs, and agent packages.
export { type AgentCatalog, createAgentCatalog } from "./agent-catalog.ts";
export type { AgentDefinition } from "./agent-definition.ts";
export {
  type AgentPackage,
  defineAgent,
  defineConfig,
  inspectPackageTools,
  type KeelConfig,
} from "./agent-package.ts";
export { type ToolTurnMessages, toolMessagesByTurn } from "./carried-tool-messages.ts";
export { governedTools } from "./governed-tools.ts";
export {
  type DetectorVerdict,
  type InjectionDetector,
  JUDGE_RUBRIC,
  modelDetectorsOf,
  readJudgeVerdict,
} from "./injection-detectors.ts";
export { createLiveText, type LiveText, type LiveTextWriter, type TextDelta } from "./live-text.ts";
export { redactionPolicyOf } from "./protect-events.ts";
export { sealEditedArguments } from "./seal-edited-arguments.ts";
export { sendSignal } from "./send-signal.ts";
export { budgetsForChildren, startRun } from "./start-run.ts";
export { createWorker, type StopOptions, type Worker } from "./worker.ts";
