/**
 * `keel`: the public face of the package. Define tools, agents and workflows, list them in a project's
 * `keel.config.ts`, and (to run Keel inside an application of your own) assemble it in-process.
 */
export { z } from "zod";
export {
  type AgentPackage,
  defineAgent,
  defineConfig,
  type KeelConfig,
} from "./runtime/index.ts";
export type { ModelChoice } from "./server/index.ts";
export {
  type ChooseModelOverride,
  type CreateKeelOptions,
  createKeel,
  type Keel,
} from "./server/index.ts";
export {
  checkWorkflowToolOutputs,
  type DefineWorkflowInput,
  defineWorkflow,
  type WorkflowDefinition,
  WorkflowDefinitionError,
  type WorkflowNode,
} from "./spec/index.ts";
export type { ApprovalQueries, AuditQueries, KeelStore, SqlClient, Store } from "./store/index.ts";
export { type OpenStoreOptions, openStore } from "./store/index.ts";
export {
  type DataClass,
  defineTool,
  type ReconcileContext,
  type Reconciliation,
  type Tool,
  type ToolContext,
} from "./tools/index.ts";
