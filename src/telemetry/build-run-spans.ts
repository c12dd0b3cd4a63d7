import type { PayloadOf } from "../journal/index.ts";
import { nodeSpanKey, runTrace, spanIdOf, toolSpanKey } from "../journal/index.ts";
import { ATTR, KEEL, providerName } from "./genai-semconv.ts";
import type { KeelSpan, SpanAttributeValue } from "./keel-span.ts";
import { type OtherEvent, stringField, type TelemetryEvent, timeOf } from "./telemetry-event.ts";

type Builder = {
  traceId: string;
  /** The id of this run's span with a key (see runTrace: qualified by the run id in a shared trace). */
  spanId(key: string): string;
  root: KeelSpan;
  spans: KeelSpan[];
  /** Tool-call spans open per call id (started, not ended). */
  openTools: Map<string, KeelSpan>;
  /** Starts (attempts) seen per call id, so a retried call gets a span per attempt. */
  attempts: Map<string, number>;
  openApprovals: KeelSpan[];
  /** The planning step's span, by step, so its model call and decisions hang under it. */
  plans: Map<number, KeelSpan>;
  /** The workflow node the run is in (entered, not ended): what its calls' spans hang under. */
  openNode: KeelSpan | null;
  totals: {
    input: number;
    output: number;
    cacheRead: number;
    cacheWrite: number;
    reasoning: number;
    usd: number;
  };
};

/**
 * The span tree of one run, from its journal events in order: `invoke_agent` at the root; under it a `plan` span
 * for the planning step, `chat` per model call, `execute_tool` per tool call attempt (with the governor's
 * `policy_decision` under it), `approval_wait` while a call waits for a person, and `handoff`; in a workflow run,
 * a `workflow_node` span per node entered, with the calls the node made under it. Named and
 * attributed per the GenAI conventions pinned in genai-semconv.ts, plus `keel.*`. Pure: the same journal
 * always gives the same spans, ids included.
 */
export function buildRunSpans(events: readonly TelemetryEvent[]): KeelSpan[] {
  const first = events[0];
  if (first?.type !== "run-start") return [];
  const builder = start(first);
  for (const event of events.slice(1)) apply(builder, event);
  finishRoot(builder);
  return builder.spans;
}

function start(event: Extract<TelemetryEvent, { type: "run-start" }>): Builder {
  const payload = event.payload as PayloadOf<"run-start"> & { traceparent?: string };
  const trace = runTrace(event.runId, payload.traceparent);
  const { traceId, parent } = trace;
  const root: KeelSpan = {
    traceId,
    spanId: spanIdOf(traceId, `run:${event.runId}`),
    parentSpanId: parent?.spanId ?? null,
    parentIsRemote: parent !== null,
    name: `invoke_agent ${payload.agent}`,
    kind: "internal",
    operation: "invoke_agent",
    startMs: timeOf(event),
    endMs: null,
    endSeq: null,
    attributes: {
      [ATTR.operationName]: "invoke_agent",
      [ATTR.agentName]: payload.agent,
      [ATTR.agentId]: `${payload.agent}@${payload.agentVersion}`,
      [ATTR.agentVersion]: payload.agentVersion,
      // A session's runs share its conversation; any other run is a conversation of its own.
      [ATTR.conversationId]: payload.session?.sessionId ?? event.runId,
      ...(payload.session
        ? { [KEEL.sessionId]: payload.session.sessionId, [KEEL.sessionTurn]: payload.session.turn }
        : {}),
      [KEEL.runId]: event.runId,
      [KEEL.agentVersion]: payload.agentVersion,
      [KEEL.specHash]: payload.specHash,
      [KEEL.tenant]: payload.principal.tenant,
    },
    status: { code: "unset" },
  };
  return {
    traceId,
    spanId: trace.spanId,
    root,
    spans: [root],
    openTools: new Map(),
    attempts: new Map(),
    openApprovals: [],
    plans: new Map(),
    openNode: null,
    totals: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0, usd: 0 },
  };
}

function apply(builder: Builder, event: TelemetryEvent): void {
  switch (event.type) {
    case "model-call-end":
      modelCall(builder, event);
      return;
    case "policy-decision":
      policyDecision(builder, event);
      return;
    case "tool-call-start":
      toolStart(builder, event);
      return;
    case "tool-call-end":
      toolEnd(builder, event);
      return;
    case "node-start":
      nodeStart(builder, event);
      return;
    case "node-end":
      nodeEnd(builder, event);
      return;
    case "context-carry": {
      // What a session's run carried from its earlier turns; a summary call is a chat span of its own.
      const { attributes } = builder.root;
      attributes[KEEL.contextStrategy] = event.payload.strategy;
      attributes[KEEL.contextTurnsCarried] = event.payload.turnsCarried;
      attributes[KEEL.contextTurnsSummarized] = event.payload.turnsSummarized;
      attributes[KEEL.contextTurnsDropped] = event.payload.turnsDropped;
      attributes[KEEL.contextTokensCarried] = event.payload.tokensCarried;
      attributes[KEEL.contextMaxTokens] = event.payload.window.maxTokens;
      return;
    }
    case "run-suspend":
      if (event.payload.pendingAction) approvalWait(builder, event, event.payload.pendingAction.tool);
      return;
    case "run-resume":
      closeApprovals(builder, event, "resumed");
      return;
    case "run-end":
      closeApprovals(builder, event, event.payload.status);
      closeOpenSpans(builder, event);
      builder.root.endMs = timeOf(event);
      builder.root.endSeq = event.seq;
      builder.root.attributes[KEEL.runStatus] = event.payload.status;
      if (event.payload.status === "completed") builder.root.status = { code: "ok" };
      else {
        builder.root.status = {
          code: "error",
          message: plainText(event.payload.error?.message) ?? event.payload.status,
        };
        builder.root.attributes[ATTR.errorType] = event.payload.error?.code ?? event.payload.status;
      }
      return;
    default:
      other(builder, event as OtherEvent);
  }
}

/** Event types from capabilities added after this projection: approvals and handoffs are read by shape. */
function other(builder: Builder, event: OtherEvent): void {
  if (event.type === "approval-decision") {
    const outcome =
      stringField(event.payload, "decision") ?? stringField(event.payload, "outcome") ?? "decided";
    for (const span of builder.openApprovals) span.attributes[KEEL.approvalOutcome] = outcome;
    // A request that needs several approvers stays open until the decision that settles it.
    if ((event.payload as { final?: unknown }).final !== false) closeApprovals(builder, event, outcome);
  } else if (event.type === "handoff") {
    const target = stringField(event.payload, "to") ?? stringField(event.payload, "agent") ?? "agent";
    child(builder, builder.root, {
      key: `handoff:${event.seq}`,
      name: `handoff ${target}`,
      operation: "handoff",
      startMs: timeOf(event),
      end: event,
      attributes: { [KEEL.handoffTarget]: target, [KEEL.operation]: "handoff" },
    });
  }
}

function modelCall(builder: Builder, event: Extract<TelemetryEvent, { type: "model-call-end" }>): void {
  const payload = event.payload;
  const endMs = timeOf(event);
  const startMs = Math.max(builder.root.startMs, endMs - payload.durationMs);
  const usage = payload.usage;
  const attributes: Record<string, SpanAttributeValue> = {
    [ATTR.operationName]: "chat",
    [ATTR.providerName]: providerName(payload.provider),
    [ATTR.requestModel]: payload.model,
    [ATTR.responseModel]: payload.model,
    [KEEL.step]: payload.step,
  };
  if (payload.phase) attributes[KEEL.phase] = payload.phase;
  if (usage) {
    // Keel's inputTokens already counts cache reads and writes, as the conventions require of input_tokens.
    attributes[ATTR.usageInputTokens] = usage.inputTokens;
    attributes[ATTR.usageOutputTokens] = usage.outputTokens;
    attributes[ATTR.usageCacheReadInputTokens] = usage.cacheReadTokens ?? 0;
    attributes[ATTR.usageCacheCreationInputTokens] = usage.cacheWriteTokens ?? 0;
    if (usage.reasoningTokens !== undefined)
      attributes[ATTR.usageReasoningOutputTokens] = usage.reasoningTokens;
    builder.totals.input += usage.inputTokens;
    builder.totals.output += usage.outputTokens;
    builder.totals.cacheRead += usage.cacheReadTokens ?? 0;
    builder.totals.cacheWrite += usage.cacheWriteTokens ?? 0;
    builder.totals.reasoning += usage.reasoningTokens ?? 0;
  }
  if (payload.cost) {
    attributes[KEEL.costUsd] = payload.cost.usd;
    attributes[KEEL.costSource] = payload.cost.source;
    attributes[KEEL.priceTable] = payload.cost.priceTableVersion;
    builder.totals.usd += payload.cost.usd;
  }
  if (payload.decision) {
    attributes[ATTR.responseFinishReasons] = [payload.decision.kind === "answer" ? "stop" : "tool_calls"];
  }
  if (payload.responseCache) attributes[KEEL.responseCache] = payload.responseCache;
  if (payload.escalations && payload.escalations.length > 0) {
    attributes[KEEL.escalations] = payload.escalations.map(
      (item) => `${item.provider}/${item.model}: ${item.reason}`,
    );
  }
  const parent =
    builder.openNode ??
    (payload.phase === "planning" ? planSpan(builder, payload.step, startMs) : builder.root);
  const span = child(builder, parent, {
    key: `model:${payload.step}:${event.seq}`,
    name: `chat ${payload.model}`,
    operation: "chat",
    kind: "client",
    startMs,
    end: event,
    attributes,
  });
  if (payload.outcome === "error") {
    span.status = { code: "error", message: plainText(payload.error?.message) ?? "model call failed" };
    span.attributes[ATTR.errorType] = payload.error?.code ?? "model_failed";
  }
  if (parent !== builder.root && parent !== builder.openNode) {
    parent.endMs = endMs;
    parent.endSeq = event.seq;
    parent.status = span.status;
  }
}

/** The planning step's `plan` span, opened by its first event. */
function planSpan(builder: Builder, step: number, startMs: number): KeelSpan {
  let plan = builder.plans.get(step);
  if (!plan) {
    plan = child(builder, builder.root, {
      key: `plan:${step}`,
      name: "plan",
      operation: "plan",
      startMs,
      end: null,
      attributes: { [KEEL.operation]: "plan", [KEEL.step]: step, [KEEL.phase]: "planning" },
    });
    builder.plans.set(step, plan);
  }
  plan.startMs = Math.min(plan.startMs, startMs);
  return plan;
}

function policyDecision(builder: Builder, event: Extract<TelemetryEvent, { type: "policy-decision" }>): void {
  const payload = event.payload;
  const atMs = timeOf(event);
  let parent = builder.openNode ?? builder.root;
  if (payload.callId !== undefined) {
    parent = toolSpan(builder, payload.callId, payload.target ?? "tool", atMs);
  } else if (
    !builder.openNode &&
    builder.plans.size === 0 &&
    !builder.spans.some((span) => span.operation === "chat")
  ) {
    // The first model call's decision belongs to the planning step.
    parent = planSpan(builder, 1, atMs);
  }
  const attributes: Record<string, SpanAttributeValue> = {
    [KEEL.operation]: "policy_decision",
    [KEEL.policyDecision]: payload.decision,
    [KEEL.policyAction]: payload.action,
    [KEEL.policyIds]: payload.policies ?? [],
    [KEEL.policyReasons]: payload.reasons,
  };
  if (payload.code) attributes[KEEL.policyCode] = payload.code;
  if (payload.stage) attributes[KEEL.policyStage] = payload.stage;
  if (payload.callId) attributes[ATTR.toolCallId] = payload.callId;
  const span = child(builder, parent, {
    key: `policy:${event.seq}`,
    name: `policy_decision ${payload.target ?? payload.action}`,
    operation: "policy_decision",
    startMs: atMs,
    end: event,
    attributes,
  });
  if (payload.decision === "deny") span.status = { code: "error", message: payload.reasons.join("; ") };
}

/** The open `execute_tool` span of a call, opened by its policy decision or its start, whichever comes first. */
function toolSpan(builder: Builder, callId: string, tool: string, startMs: number): KeelSpan {
  const open = builder.openTools.get(callId);
  if (open) return open;
  const attempt = (builder.attempts.get(callId) ?? 0) + 1;
  builder.attempts.set(callId, attempt);
  const span = child(builder, builder.openNode ?? builder.root, {
    // The runtime hands the tool this span's id in its traceparent (journal/trace-context.ts), so it is keyed
    // the same way; a second span for one call id (never made by the runtime) gets its own key.
    key: attempt === 1 ? toolSpanKey(callId) : `tool:${callId}:${attempt}`,
    name: `execute_tool ${tool}`,
    operation: "execute_tool",
    startMs,
    end: null,
    attributes: {
      [ATTR.operationName]: "execute_tool",
      [ATTR.toolName]: tool,
      [ATTR.toolCallId]: callId,
      [ATTR.toolType]: "function",
      [KEEL.attempt]: attempt,
    },
  });
  builder.openTools.set(callId, span);
  return span;
}

function toolStart(builder: Builder, event: Extract<TelemetryEvent, { type: "tool-call-start" }>): void {
  const span = toolSpan(builder, event.payload.callId, event.payload.tool, timeOf(event));
  span.attributes[KEEL.step] = event.payload.step;
  span.attributes[KEEL.attempt] = event.payload.attempt;
}

function toolEnd(builder: Builder, event: Extract<TelemetryEvent, { type: "tool-call-end" }>): void {
  const payload = event.payload;
  const endMs = timeOf(event);
  const span = toolSpan(builder, payload.callId, payload.tool, endMs - payload.durationMs);
  builder.openTools.delete(payload.callId);
  span.startMs = Math.max(builder.root.startMs, Math.min(span.startMs, endMs - payload.durationMs));
  span.endMs = endMs;
  span.endSeq = event.seq;
  span.attributes[KEEL.step] = payload.step;
  if (payload.outcome === "error") {
    span.status = { code: "error", message: plainText(payload.error?.message) ?? "tool call failed" };
    span.attributes[ATTR.errorType] = payload.error?.code ?? "tool_failed";
  } else {
    span.status = { code: "ok" };
  }
}

/** A workflow node entered: its span stays open until its `node-end`, and the node's calls hang under it. */
function nodeStart(builder: Builder, event: Extract<TelemetryEvent, { type: "node-start" }>): void {
  const { node, kind, visit, step } = event.payload;
  builder.openNode = child(builder, builder.root, {
    // A child run the node starts is handed this span's id as its traceparent (journal/trace-context.ts).
    key: nodeSpanKey(node, visit),
    name: `workflow_node ${node}`,
    operation: "workflow_node",
    startMs: timeOf(event),
    end: null,
    attributes: {
      [KEEL.operation]: "workflow_node",
      [KEEL.workflowNode]: node,
      [KEEL.workflowNodeKind]: kind,
      [KEEL.workflowVisit]: visit,
      [KEEL.step]: step,
    },
  });
}

function nodeEnd(builder: Builder, event: Extract<TelemetryEvent, { type: "node-end" }>): void {
  const span = builder.openNode;
  builder.openNode = null;
  if (!span) return;
  const { outcome, next, error } = event.payload;
  span.endMs = timeOf(event);
  span.endSeq = event.seq;
  span.attributes[KEEL.workflowOutcome] = outcome;
  if (next) span.attributes[KEEL.workflowNext] = next;
  span.status =
    outcome === "ok"
      ? { code: "ok" }
      : { code: "error", message: plainText(error?.message) ?? `node ${event.payload.node} ${outcome}` };
  if (outcome !== "ok" && error?.code) span.attributes[ATTR.errorType] = error.code;
}

function approvalWait(builder: Builder, event: TelemetryEvent, tool: string): void {
  const span = child(builder, builder.root, {
    key: `approval:${event.seq}`,
    name: `approval_wait ${tool}`,
    operation: "approval_wait",
    startMs: timeOf(event),
    end: null,
    attributes: { [KEEL.operation]: "approval_wait", [ATTR.toolName]: tool },
  });
  if (event.type === "run-suspend") span.attributes[KEEL.approvalReason] = event.payload.reason;
  builder.openApprovals.push(span);
}

function closeApprovals(builder: Builder, event: { seq: number; at: string }, outcome: string): void {
  for (const span of builder.openApprovals) {
    span.endMs = timeOf(event);
    span.endSeq = event.seq;
    span.attributes[KEEL.approvalOutcome] ??= outcome;
  }
  builder.openApprovals = [];
}

/** A run that ends closes what it left open: a plan whose model call was refused, a tool call cut off. */
function closeOpenSpans(builder: Builder, event: { seq: number; at: string }): void {
  for (const span of builder.spans) {
    if (span.endMs !== null || span === builder.root) continue;
    span.endMs = timeOf(event);
    span.endSeq = event.seq;
    if (span.status.code === "unset" && span.operation === "execute_tool") {
      span.status = { code: "error", message: "the run ended before the tool call did" };
    }
  }
  builder.openTools.clear();
  builder.openNode = null;
}

function finishRoot(builder: Builder): void {
  const { root, totals } = builder;
  root.attributes[ATTR.usageInputTokens] = totals.input;
  root.attributes[ATTR.usageOutputTokens] = totals.output;
  root.attributes[ATTR.usageCacheReadInputTokens] = totals.cacheRead;
  root.attributes[ATTR.usageCacheCreationInputTokens] = totals.cacheWrite;
  root.attributes[KEEL.costUsd] = totals.usd;
}

function child(
  builder: Builder,
  parent: KeelSpan,
  options: {
    key: string;
    name: string;
    operation: KeelSpan["operation"];
    kind?: KeelSpan["kind"];
    startMs: number;
    /** The event that ends the span now (an instant or a span whose duration it carries), or null while open. */
    end: { seq: number; at: string } | null;
    attributes: Record<string, SpanAttributeValue>;
  },
): KeelSpan {
  const span: KeelSpan = {
    traceId: builder.traceId,
    spanId: builder.spanId(options.key),
    parentSpanId: parent.spanId,
    parentIsRemote: false,
    name: options.name,
    kind: options.kind ?? "internal",
    operation: options.operation,
    startMs: options.startMs,
    endMs: options.end ? timeOf(options.end) : null,
    endSeq: options.end?.seq ?? null,
    attributes: { ...options.attributes, [KEEL.runId]: builder.root.attributes[KEEL.runId] as string },
    status: { code: "unset" },
  };
  builder.spans.push(span);
  return span;
}

/**
 * A journaled error message as a span may carry it: a run about a person stores its messages sealed (an object),
 * and its spans then say only what failed, never the person's text.
 */
function plainText(message: unknown): string | undefined {
  return typeof message === "string" ? message : undefined;
}
