/**
 * The OpenTelemetry GenAI semantic-convention names Keel emits, copied here as the semantic-conventions package
 * asks of users of its incubating entry point (its names may change in minor releases; ours change only when
 * we move the pin). Pinned to the GenAI conventions as published in `@opentelemetry/semantic-conventions`
 * 1.45.0 (incubating): agent, inference and tool spans, and the cached-token attributes of
 * open-telemetry/semantic-conventions#3163, under which `gen_ai.usage.input_tokens` includes cache reads and
 * cache writes.
 */
export const GENAI_SEMCONV = "@opentelemetry/semantic-conventions@1.45.0 (incubating gen_ai.*)";

/** `gen_ai.*` and general attribute names. */
export const ATTR = {
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  requestModel: "gen_ai.request.model",
  responseModel: "gen_ai.response.model",
  responseFinishReasons: "gen_ai.response.finish_reasons",
  agentName: "gen_ai.agent.name",
  agentId: "gen_ai.agent.id",
  agentVersion: "gen_ai.agent.version",
  conversationId: "gen_ai.conversation.id",
  toolName: "gen_ai.tool.name",
  toolCallId: "gen_ai.tool.call.id",
  toolType: "gen_ai.tool.type",
  usageInputTokens: "gen_ai.usage.input_tokens",
  usageOutputTokens: "gen_ai.usage.output_tokens",
  usageCacheReadInputTokens: "gen_ai.usage.cache_read.input_tokens",
  usageCacheCreationInputTokens: "gen_ai.usage.cache_creation.input_tokens",
  usageReasoningOutputTokens: "gen_ai.usage.reasoning.output_tokens",
  errorType: "error.type",
} as const;

/** Keel's own attributes, beside the conventions. */
export const KEEL = {
  runId: "keel.run.id",
  sessionId: "keel.session.id",
  sessionTurn: "keel.session.turn",
  contextStrategy: "keel.context.strategy",
  contextTurnsCarried: "keel.context.turns_carried",
  contextTurnsSummarized: "keel.context.turns_summarized",
  contextTurnsDropped: "keel.context.turns_dropped",
  contextTokensCarried: "keel.context.tokens_carried",
  contextMaxTokens: "keel.context.max_tokens",
  runStatus: "keel.run.status",
  tenant: "keel.tenant",
  agentVersion: "keel.agent.version",
  specHash: "keel.agent.spec_hash",
  step: "keel.step",
  phase: "keel.phase",
  costUsd: "keel.cost.usd",
  costSource: "keel.cost.source",
  priceTable: "keel.cost.price_table",
  routingReason: "keel.routing.reason",
  responseCache: "keel.response_cache",
  escalations: "keel.escalations",
  attempt: "keel.tool.attempt",
  policyDecision: "keel.policy.decision",
  policyAction: "keel.policy.action",
  policyCode: "keel.policy.code",
  policyStage: "keel.policy.stage",
  policyIds: "keel.policy.ids",
  policyReasons: "keel.policy.reasons",
  approvalOutcome: "keel.approval.outcome",
  approvalReason: "keel.approval.reason",
  handoffTarget: "keel.handoff.target",
  workflowNode: "keel.workflow.node",
  workflowNodeKind: "keel.workflow.node_kind",
  workflowVisit: "keel.workflow.visit",
  workflowOutcome: "keel.workflow.outcome",
  workflowNext: "keel.workflow.next",
  operation: "keel.operation.name",
} as const;

/**
 * `gen_ai.operation.name` values Keel uses; `plan`, `policy_decision`, `approval_wait`, `handoff` and
 * `workflow_node` are Keel's.
 */
export type SpanOperation =
  | "invoke_agent"
  | "chat"
  | "execute_tool"
  | "plan"
  | "policy_decision"
  | "approval_wait"
  | "handoff"
  | "workflow_node";

/** `gen_ai.provider.name` for a Keel provider name (the conventions' well-known values where there is one). */
export function providerName(provider: string): string {
  switch (provider) {
    case "google":
      return "gcp.gemini";
    case "anthropic":
    case "openai":
      return provider;
    default:
      return provider;
  }
}
