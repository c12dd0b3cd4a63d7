import { Ajv, type ValidateFunction } from "ajv";
import { canonicalJson, hashPayload, type NewEvent } from "../journal/index.ts";
import type { ModelMessage, ModelProvider, ModelTurn } from "../models/index.ts";
import { createRulesModelProvider } from "../models/index.ts";
import type {
  BranchNodeDefinition,
  DecideNodeDefinition,
  EndNodeDefinition,
  JsonValue,
  ToolNodeDefinition,
  WaitNodeDefinition,
  WorkflowDefinition,
  WorkflowNode,
} from "../spec/index.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { governedModelCall } from "./call-model.ts";
import { outputRejectionMessage } from "./check-structured-answer.ts";
import { executeToolCalls } from "./execute-tool-calls.ts";
import { defineGraph, type Graph, type GraphNode, type NodeContext } from "./graph.ts";
import { isFinished, type RunState } from "./run-state.ts";
import { runApprovalNode } from "./workflow-approval-node.ts";
import { type FanOutHelpers, runAgentNode, runFanOutNode } from "./workflow-fan-out.ts";
import { runHandoffNode } from "./workflow-handoff-node.ts";
import {
  applyReducer,
  initialWorkflowValues,
  renderTemplate,
  testCondition,
  valueText,
  type WorkflowScope,
  workflowInput,
} from "./workflow-values.ts";

/** The node kinds this interpreter runs; a run that reaches another ends failed with `unsupported_node`. */
export const INTERPRETED_NODE_KINDS: ReadonlySet<WorkflowNode["kind"]> = new Set([
  "agent",
  "parallel",
  "map",
  "tool",
  "decide",
  "branch",
  "wait",
  "approval",
  "handoff",
  "end",
]);

/**
 * A workflow as a graph the interpreter drives: one graph node per workflow node, and the next node read from the
 * run's journal alone (the node it is in, else where the last `node-end` pointed, else `start`), so a run replayed
 * after a crash walks the same path. Each node journals its entry and its end; a node that acts (a tool call) makes
 * its action durable first, exactly as the agent loop does, and only the node in flight is ever repeated.
 */
export function workflowGraph(definition: WorkflowDefinition): Graph {
  const nodes: Record<string, GraphNode> = {};
  for (const node of Object.values(definition.nodes)) {
    nodes[node.name] = { name: node.name, run: (context) => runNode(definition, node, context) };
  }
  return defineGraph({
    name: `workflow ${definition.name}`,
    nodes,
    next(state) {
      if (isFinished(state) || state.status === "suspended") return null;
      return currentNode(definition, state);
    },
  });
}

/** The node a workflow run is in or goes to next; null once it has ended. */
export function currentNode(definition: WorkflowDefinition, state: RunState): string | null {
  const progress = state.workflow;
  if (progress.open) return progress.open.node;
  if (progress.next === undefined) return definition.start;
  return progress.next;
}

/** The state's values after every write so far, each through its field's reducer. */
export function workflowValues(definition: WorkflowDefinition, state: RunState): Record<string, JsonValue> {
  const values = initialWorkflowValues(definition.state);
  for (const write of state.workflow.writes) {
    const field = definition.state[write.field];
    if (!field) continue;
    values[write.field] = applyReducer(field.reducer, values[write.field], write.output as JsonValue);
  }
  return values;
}

/** What templates and conditions of this run read now. */
export function workflowScope(definition: WorkflowDefinition, state: RunState): WorkflowScope {
  return { state: workflowValues(definition, state), input: workflowInput(state.input) };
}

async function runNode(
  definition: WorkflowDefinition,
  node: WorkflowNode,
  context: NodeContext,
): Promise<void> {
  const { journal } = context;
  const state = journal.state;
  const open = state.workflow.open?.node === node.name ? state.workflow.open : null;
  if (!open) {
    // Entering the node: the step bound and the node's own bound are checked before anything is journaled for it.
    const visit = (state.workflow.visits[node.name] ?? 0) + 1;
    const step = state.workflow.steps + 1;
    if (step > definition.limits.maxSteps) {
      await fail(
        context,
        "max_steps_exceeded",
        `the workflow entered ${definition.limits.maxSteps} nodes without ending`,
      );
      return;
    }
    if (node.maxVisits !== undefined && visit > node.maxVisits) {
      await fail(
        context,
        "max_visits_exceeded",
        `node ${node.name} was entered ${node.maxVisits} times, its limit`,
      );
      return;
    }
    journal.stage({ type: "node-start", payload: { node: node.name, kind: node.kind, visit, step } });
  }
  const visit = journal.state.workflow.visits[node.name] ?? 1;
  switch (node.kind) {
    case "branch":
      await runBranch(definition, node, visit, context);
      return;
    case "end":
      await runEnd(definition, node, visit, context);
      return;
    case "tool":
      await runTool(definition, node, visit, context);
      return;
    case "decide":
      await runDecide(definition, node, visit, context);
      return;
    case "wait":
      await runWait(definition, node, visit, context);
      return;
    case "approval":
      await runApprovalNode(node, visit, context, () => workflowScope(definition, context.journal.state));
      return;
    case "handoff":
      await runHandoffNode(node, visit, context, () => workflowScope(definition, context.journal.state));
      return;
    case "agent":
      await runAgentNode(node, visit, context, fanOutHelpers(definition));
      return;
    case "parallel":
    case "map":
      await runFanOutNode(node, visit, context, fanOutHelpers(definition));
      return;
    default: {
      // Every kind the spec knows is run above; a definition built by a newer Keel ends the run saying so.
      const unknown = node as WorkflowNode;
      await fail(
        context,
        "unsupported_node",
        `node ${unknown.name} is a ${unknown.kind} node, which this Keel does not run`,
      );
    }
  }
}

async function runBranch(
  definition: WorkflowDefinition,
  node: BranchNodeDefinition,
  visit: number,
  context: NodeContext,
): Promise<void> {
  const scope = workflowScope(definition, context.journal.state);
  const chosen = node.cases.find((item) => testCondition(item.when, scope));
  // A condition over journaled state chooses the same way again after a crash: the choice rides on the next commit.
  context.journal.stage({
    type: "node-end",
    payload: {
      node: node.name,
      visit,
      outcome: "ok",
      output: chosen ? chosen.source : "else",
      next: chosen ? chosen.to : node.else,
    },
  });
}

async function runEnd(
  definition: WorkflowDefinition,
  node: EndNodeDefinition,
  visit: number,
  context: NodeContext,
): Promise<void> {
  const state = context.journal.state;
  const output = node.output ? renderTemplate(node.output, workflowScope(definition, state)) : null;
  const answer = output === null ? "" : valueText(output);
  await context.journal.commit(
    {
      type: "node-end",
      payload: {
        node: node.name,
        visit,
        outcome: "ok",
        ...(output === null ? {} : { output }),
        next: null,
      },
    },
    { type: "run-end", payload: { status: "completed", answer, steps: state.workflow.steps } },
  );
}

/**
 * A governed tool call with arguments from the state. It goes through the same path as a call the agent loop's
 * model proposes — the governor's decision, approvals, the call's durable start, idempotency key, reconcile and
 * "outcome unknown" on a crash mid-call — under the call id `<node>.<visit>`.
 */
async function runTool(
  definition: WorkflowDefinition,
  node: ToolNodeDefinition,
  visit: number,
  context: NodeContext,
): Promise<void> {
  const { journal } = context;
  const callId = `${node.name}.${visit}`;
  const proposed =
    journal.state.toolCalls.some((call) => call.callId === callId) || endOf(journal.state, callId);
  if (!proposed) {
    const scope = workflowScope(definition, journal.state);
    const args: Record<string, JsonValue> = {};
    for (const [key, value] of Object.entries(node.call.args)) {
      args[key] = value.kind === "template" ? renderTemplate(value.template, scope) : value.value;
    }
    journal.stage({
      type: "tool-call-propose",
      payload: {
        step: journal.state.workflow.steps,
        callId,
        tool: node.call.tool,
        arguments: args,
        argumentsHash: hashPayload(args),
      },
    });
  }
  await executeToolCalls.run(context);
  const ended = endOf(journal.state, callId);
  // Suspended for a person, interrupted, or the run ended (a kill switch): the node stays open.
  if (!ended || journal.state.status !== "running") return;
  if (ended.isError) {
    const error = errorOf(ended.content);
    await journal.commit(
      {
        type: "node-end",
        payload: { node: node.name, visit, outcome: "failed", error, next: null },
      },
      {
        type: "run-end",
        payload: {
          status: "failed",
          error: { code: error.code, message: `node ${node.name}: ${error.message}` },
          steps: journal.state.workflow.steps,
        },
      },
    );
    return;
  }
  await journal.commit({
    type: "node-end",
    payload: {
      node: node.name,
      visit,
      outcome: "ok",
      output: ended.content as JsonValue,
      ...(node.writes === undefined ? {} : { writes: node.writes }),
      next: node.next,
    },
  });
}

const ajv = new Ajv({ strict: false, allErrors: true });
const outputValidators = new WeakMap<object, ValidateFunction>();

/**
 * A bounded model decision: the model is asked for one of the node's labels, or for JSON matching its schema, and
 * nothing else is accepted. Each call is governed and budgeted like an agent's turn and journaled with the node;
 * an answer that is not one of the choices is recorded and asked again, up to `retries` more times, after which
 * the run goes to the node's `fallback` with the reason. A node with an offline rules table is answered by it when
 * the workflow has no hosted model to ask.
 */
async function runDecide(
  definition: WorkflowDefinition,
  node: DecideNodeDefinition,
  visit: number,
  context: NodeContext,
): Promise<void> {
  const { journal } = context;
  const provider = decideProvider(definition, node, context.agent);
  for (;;) {
    const state = journal.state;
    const attempt = state.workflow.calls + 1;
    const scope = workflowScope(definition, state);
    const served = await governedModelCall(context, {
      step: state.workflow.steps,
      phase: attempt === 1 ? "planning" : "error_recovery",
      request: {
        system: decideInstructions(node, scope),
        messages: decideMessages(node, scope, attempt > 1 ? state.lastRejection : null),
        tools: [],
        params: {},
        signal: context.signal,
      },
      provider,
      callKey: `${node.name}.${visit}.${attempt}`,
      start: [],
    });
    if (served.kind === "ended") return;
    const decided = readDecision(node, served.turn);
    if (decided.ok) {
      const next =
        node.decision.kind === "labels" ? node.decision.next[decided.value as string]! : node.decision.next;
      await journal.commit(...served.events, {
        type: "node-end",
        payload: {
          node: node.name,
          visit,
          outcome: "ok",
          output: decided.value,
          ...(node.writes === undefined ? {} : { writes: node.writes }),
          next,
        },
      });
      return;
    }
    if (attempt > node.retries) {
      await journal.commit(...rejected(served.events, decided.why), {
        type: "node-end",
        payload: {
          node: node.name,
          visit,
          outcome: "failed",
          error: {
            code: "invalid_decision",
            message: `no valid decision after ${attempt} answers (last: ${decided.why}); going to ${node.fallback}`,
          },
          next: node.fallback,
        },
      });
      return;
    }
    // The answer that was not a choice is recorded with why, then the model is asked again and told why.
    await journal.commit(...rejected(served.events, decided.why));
  }
}

function decideProvider(
  definition: WorkflowDefinition,
  node: DecideNodeDefinition,
  agent: AgentDefinition,
): ModelProvider {
  if (!agent.provider.offline || !node.rules) return agent.provider;
  return createRulesModelProvider({ table: node.rules, model: `rules:${definition.name}/${node.name}` });
}

function decideInstructions(node: DecideNodeDefinition, scope: WorkflowScope): string {
  const prompt = renderTemplate(node.prompt, scope);
  const task = valueText(prompt);
  const answer =
    node.decision.kind === "labels"
      ? `Answer with exactly one of these labels and nothing else: ${node.decision.labels.join(", ")}.`
      : `Answer with JSON only, with no other text, matching this JSON Schema: ${JSON.stringify(node.decision.output)}`;
  return `${task}\n\n${answer}`;
}

/** The decision's subject, and after an invalid answer that answer and what was wrong with it. */
function decideMessages(
  node: DecideNodeDefinition,
  scope: WorkflowScope,
  rejection: RunState["lastRejection"],
): ModelMessage[] {
  const subject: ModelMessage = { role: "user", content: decideSubject(node, scope) };
  if (rejection === null) return [subject];
  return [
    subject,
    { role: "assistant", content: rejection.answer },
    { role: "user", content: outputRejectionMessage(rejection.why) },
  ];
}

/** A served call's events with its model-call-end marked as rejected, and why. */
function rejected(events: readonly NewEvent[], why: string): NewEvent[] {
  return events.map((event) =>
    event.type === "model-call-end"
      ? { ...event, payload: { ...event.payload, outputRejection: why } }
      : event,
  );
}

function decideSubject(node: DecideNodeDefinition, scope: WorkflowScope): string {
  const subject = node.input ? renderTemplate(node.input, scope) : scope.input;
  return valueText(subject);
}

/** The decision an answer makes, or why it makes none. */
function readDecision(
  node: DecideNodeDefinition,
  turn: ModelTurn,
): { ok: true; value: JsonValue } | { ok: false; why: string } {
  if (turn.decision.kind !== "answer")
    return { ok: false, why: "the model asked for tools instead of answering" };
  const text = turn.decision.text.trim();
  if (node.decision.kind === "labels") {
    const wanted = text
      .replace(/[.!]+$/, "")
      .trim()
      .toLowerCase();
    const label = node.decision.labels.find((candidate) => candidate.toLowerCase() === wanted);
    return label === undefined
      ? { ok: false, why: `"${shorten(text)}" is not one of ${node.decision.labels.join(", ")}` }
      : { ok: true, value: label };
  }
  const json = text.replace(/^```(?:json)?\s*/i, "").replace(/\s*```$/, "");
  let value: JsonValue;
  try {
    value = JSON.parse(json) as JsonValue;
  } catch {
    return { ok: false, why: `"${shorten(text)}" is not JSON` };
  }
  let validate = outputValidators.get(node.decision.output);
  if (!validate) {
    validate = ajv.compile(node.decision.output);
    outputValidators.set(node.decision.output, validate);
  }
  if (!validate(value)) {
    const first = validate.errors?.[0];
    return {
      ok: false,
      why: `the JSON does not match the schema (${first?.instancePath || "/"} ${first?.message ?? ""})`,
    };
  }
  return { ok: true, value };
}

function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * A durable wait: until a time, for a duration, or until a named signal arrives (with an optional timeout). A
 * signal already received and not taken by an earlier wait ends it at once; otherwise the run suspends with the
 * wait journaled (`run-suspend` with `wait`), holding nothing but its rows, and the store wakes it: a signal through
 * the API, or the durable timer by the database clock. The due time is computed once and journaled, so a resumed
 * run compares against the same time; once it has passed (the timer fired, or the clock is past it) the node ends.
 */
async function runWait(
  definition: WorkflowDefinition,
  node: WaitNodeDefinition,
  visit: number,
  context: NodeContext,
): Promise<void> {
  const { journal } = context;
  const state = journal.state;
  const wait = node.wait;
  if (wait.kind === "signal") {
    const received = state.workflow.signals.find((signal) => !signal.taken && signal.name === wait.signal);
    if (received) {
      await journal.commit({
        type: "node-end",
        payload: {
          node: node.name,
          visit,
          outcome: "ok",
          output: (received.payload ?? null) as JsonValue,
          ...(node.writes === undefined ? {} : { writes: node.writes }),
          next: node.next,
          signal: { name: received.name, seq: received.seq },
        },
      });
      return;
    }
  }
  const due = state.workflow.wait ? { at: state.workflow.wait.until } : dueTime(definition, wait, state);
  if ("problem" in due) {
    await fail(context, "invalid_wait", `node ${node.name}: ${due.problem}`);
    return;
  }
  const passed = due.at !== null && (state.workflow.wait?.fired === true || Date.parse(due.at) <= Date.now());
  if (passed) {
    if (wait.kind !== "signal") {
      await journal.commit({
        type: "node-end",
        payload: { node: node.name, visit, outcome: "ok", next: node.next },
      });
      return;
    }
    const error = { code: "wait_timeout", message: `no ${wait.signal} signal arrived by ${due.at}` };
    if (wait.onTimeout !== undefined) {
      await journal.commit({
        type: "node-end",
        payload: { node: node.name, visit, outcome: "failed", error, next: wait.onTimeout },
      });
      return;
    }
    await journal.commit(
      { type: "node-end", payload: { node: node.name, visit, outcome: "failed", error, next: null } },
      {
        type: "run-end",
        payload: {
          status: "failed",
          error: { code: error.code, message: `node ${node.name}: ${error.message}` },
          steps: state.workflow.steps,
        },
      },
    );
    return;
  }
  const signals = wait.kind === "signal" ? [wait.signal] : undefined;
  await journal.commit({
    type: "run-suspend",
    payload: {
      reason: `node ${node.name} waits ${[
        ...(signals ? [`for the ${wait.kind === "signal" ? wait.signal : ""} signal`] : []),
        ...(due.at === null ? [] : [`until ${due.at}`]),
      ].join(" or ")}`,
      wait: { ...(signals ? { signals } : {}), ...(due.at === null ? {} : { until: due.at }) },
    },
  });
}

/** When a wait entered now comes due (null: never, a signal without a timeout), or why its time is not a time. */
function dueTime(
  definition: WorkflowDefinition,
  wait: WaitNodeDefinition["wait"],
  state: RunState,
): { at: string | null } | { problem: string } {
  switch (wait.kind) {
    case "for":
      return { at: new Date(Date.now() + wait.durationMs).toISOString() };
    case "signal":
      return {
        at: wait.timeoutMs === undefined ? null : new Date(Date.now() + wait.timeoutMs).toISOString(),
      };
    case "until": {
      const value = renderTemplate(wait.until, workflowScope(definition, state));
      const time = typeof value === "string" ? Date.parse(value) : Number.NaN;
      if (!Number.isFinite(time))
        return { problem: `wait.until is ${JSON.stringify(value)}, not a date and time` };
      return { at: new Date(time).toISOString() };
    }
  }
}

/** The journaled end of a call, as the run's messages hold it. */
function endOf(state: RunState, callId: string): { content: unknown; isError: boolean } | undefined {
  for (let index = state.messages.length - 1; index >= 0; index--) {
    const message = state.messages[index]!;
    if (message.role === "tool" && message.callId === callId) {
      return { content: message.content, isError: message.isError === true };
    }
  }
  return undefined;
}

function errorOf(content: unknown): { code: string; message: string } {
  if (content !== null && typeof content === "object" && "code" in content && "message" in content) {
    return { code: String(content.code), message: String(content.message) };
  }
  return { code: "tool_failed", message: typeof content === "string" ? content : canonicalJson(content) };
}

function fanOutHelpers(definition: WorkflowDefinition): FanOutHelpers {
  return { scope: (state) => workflowScope(definition, state), fail };
}

async function fail(context: NodeContext, code: string, message: string): Promise<void> {
  const state = context.journal.state;
  await context.journal.commit({
    type: "run-end",
    payload: { status: "failed", error: { code, message }, steps: state.workflow.steps },
  });
}
