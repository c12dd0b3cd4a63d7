// spec/: the file formats a team writes (agent specs, workflow specs, rules tables) as zod schemas, and their loading
// from YAML with file:line:column issues, the content hash that identifies a version, and JSON Schemas for editors.

export { A2aSection, a2aToolName, type RemoteAgentSpec } from "./a2a-section.ts";
export {
  AgentSpec,
  type AgentSpecInput,
  ContextSection,
  Duration,
  LimitsSection,
  ModelSection,
} from "./agent-spec.ts";
export type { ApprovalsSection, EscalateWhen } from "./approvals-section.ts";
export { checkWorkflowToolOutputs } from "./check-workflow-tool-outputs.ts";
export { CodeSection, type CodeToolSpec, codeToolNames } from "./code-section.ts";
export { computeVersionHash, type VersionContent } from "./compute-version-hash.ts";
export { type Comparison, type Condition, parseCondition } from "./condition.ts";
export {
  type DefineWorkflowInput,
  defineWorkflow,
  WorkflowDefinitionError,
  type WorkflowFieldIssue,
} from "./define-workflow.ts";
export {
  type BoundsExpectation,
  CalibrationBar,
  CaseExpectation,
  CorpusImport,
  DatasetFile,
  EvalCase,
  type EvalCaseInput,
  EvalsSection,
  GovernanceOutcome,
  JudgeRubric,
  NodeExpectation,
  OutputExpectation,
  ToolExpectation,
} from "./eval-dataset.ts";
export {
  GovernanceSection,
  type GovernanceSectionInput,
  type PolicyMode,
  type RateLimitKey,
  type ToolRule,
} from "./governance-section.ts";
export {
  GuardsSection,
  type InjectionAction,
  type InjectionDetectorSpec,
  type RedactionClass,
} from "./guards-section.ts";
export {
  HttpSection,
  type HttpToolSpec,
  hostAllowed,
  httpToolNames,
  type OpenApiSpec,
} from "./http-section.ts";
export { AGENT_SPEC_FILE_NAME, loadAgentDirectories } from "./load-agent-directories.ts";
export { loadAgentSpec } from "./load-agent-spec.ts";
export { McpSection, type McpServerSpec, mcpToolName, type ValueSource } from "./mcp-section.ts";
export { MEMORY_TOOLS, MemorySection, providedMemoryTools } from "./memory-section.ts";
export { checkModelPinning, floatingAliasReason } from "./model-pinning.ts";
export { parseYamlSource } from "./parse-yaml-source.ts";
export { type PolicyTestCase, type PolicyTests, parsePolicyTests } from "./policy-tests.ts";
export {
  type AgentSpecContext,
  type AgentSpecOutcome,
  type LoadedAgentSpec,
  readAgentSpec,
} from "./read-agent-spec.ts";
export { readSpecKind } from "./read-spec-kind.ts";
export { readTextFile } from "./read-text-file.ts";
export {
  type LoadedWorkflowSpec,
  loadWorkflowSpec,
  readWorkflowSpec,
  type WorkflowSpecOutcome,
} from "./read-workflow-spec.ts";
export { renderJsonSchemas } from "./render-json-schemas.ts";
export {
  CanaryGatesSpec,
  DEFAULT_ROLLOUT,
  ROLLOUT_STRATEGIES,
  RolloutSection,
  type RolloutStrategy,
  ShadowResult,
  STICKINESS_KEYS,
  type StickinessKey,
} from "./rollout-section.ts";
export { InputPattern, Rule, RuleCondition, RulesTable, ValueTest } from "./rules-table.ts";
export { formatSpecIssue, SpecError, type SpecIssue } from "./spec-error.ts";
export { parseToolCondition, type ToolComparison, type ToolCondition } from "./tool-condition.ts";
export { validateYamlSource } from "./validate-yaml-source.ts";
export * from "./workflow-definition.ts";
export { WorkflowSpec, type WorkflowSpecInput } from "./workflow-spec.ts";
export type { Reference, ReferenceRoot, Template, TemplatePart } from "./workflow-template.ts";
