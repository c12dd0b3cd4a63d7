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
} from "./runtime/agent-package.ts";
export type { ModelChoice } from "./server/bind-agent-package.ts";
export {
  type ChooseModelOverride,
  type CreateKeelOptions,
  createKeel,
  type Keel,
} from "./server/create-keel.ts";
export {
  checkWorkflowToolOutputs,
  type DefineWorkflowInput,
  defineWorkflow,
  type WorkflowDefinition,
  WorkflowDefinitionError,
  type WorkflowNode,
} from "./spec/index.ts";
export { type OpenStoreOptions, openStore } from "./store/open-store.ts";
export type { SqlClient, Store } from "./store/store.ts";
export {
  type DataClass,
  defineTool,
  type ReconcileContext,
  type Reconciliation,
  type Tool,
  type ToolContext,
} from "./tools/tool.ts";
