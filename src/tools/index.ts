// tools/: the Tool contract agents call (defineTool, zod input and output schemas, side effects with an
// idempotency key), validated and time-limited execution, and reconciliation of attempts in doubt.
export { describeZodIssues, executeToolCall, toolInputJsonSchema } from "./execute-tool-call.ts";
export { jsonSchemaInput } from "./json-schema-input.ts";
export { type ReconcileOutcome, reconcileToolCall } from "./reconcile-tool-call.ts";
export {
  type DataClass,
  type DryRunContext,
  defineTool,
  type ReconcileContext,
  type Reconciliation,
  type Tool,
  type ToolContext,
} from "./tool.ts";
export {
  checkWorkingMemorySchema,
  createUpdateWorkingMemoryTool,
  UPDATE_WORKING_MEMORY,
} from "./update-working-memory.ts";
