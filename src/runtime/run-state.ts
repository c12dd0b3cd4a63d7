import type { ContextTaint } from "../governance/index.ts";
import type {
  ApprovalKind,
  ErrorInfo,
  JournalEvent,
  ParentBudget,
  PayloadOf,
  Principal,
  RunStatus,
  SessionTurn,
  ToolCallRequest,
} from "../journal/index.ts";
import type { ModelMessage } from "../models/index.ts";
import { UPDATE_WORKING_MEMORY } from "../tools/index.ts";
import { outputRejectionMessage } from "./check-structured-answer.ts";

/** One tool call as the journal knows it. */
export type ToolCallState = {
  step: number;
  callId: string;
  tool: string;
  arguments: unknown;
  argumentsHash: string;
  idempotencyKey: string | null;
  attempts: number;
  ended: boolean;
};

/** An action a policy held for a person, as the run's `run-suspend` recorded it. */
export type PendingAction = NonNullable<PayloadOf<"run-suspend">["pendingAction"]>;

/** An approval request of this run as the runtime needs it: which call it holds and how it was settled. */
export type RunApproval = {
  approvalId: string;
  kind: ApprovalKind;
  callId: string | null;
  status: "pending" | "approved" | "rejected" | "expired" | "resolved";
  /** The argument hash the final approval bound to. */
  argumentsHash: string | null;
  approvedBy: string[];
  /** A task's form as approved: the values of the latest approval that gave them. */
  values: Record<string, unknown> | null;
  /** Who settled it (the final decision's subject). */
  decidedBy: string | null;
};

/**
 * Where a workflow run is, from its node events: the node it is in (entered and not ended), the node it goes to
 * next (`undefined` before the first node, null once the workflow ended), how often each node was entered, and
 * every value written to the state, in order (the workflow's reducers turn them into the state's values).
 */
export type WorkflowProgress = {
  open: { node: string; visit: number } | null;
  next: string | null | undefined;
  visits: Record<string, number>;
  steps: number;
  /** Model calls answered inside the open node (a `decide` node's attempts so far). */
  calls: number;
  /** Signals the run received, in order, and whether a `wait` node has taken each. */
  signals: { name: string; seq: number; payload: unknown; taken: boolean }[];
  /** The wait the open node suspended on (its journaled due time), and whether that timer fired. */
  wait: { until: string | null; fired: boolean } | null;
  writes: { node: string; field: string; output: unknown }[];
  /**
   * Child runs started and not yet journaled as ended, by run id, across every node: each is journaled `child-end`
   * once, even one a join cancelled, so `childEnds` keeps pace with the store's count of this run's ended children.
   */
  children: Record<string, { node: string; visit: number; branch?: string }>;
  /** `child-end` events journaled so far: a wait on children asks the store for one more. */
  childEnds: number;
  /** The open `agent`, `parallel` or `map` node's branches (an agent node's child is the branch ""). */
  fanOut: FanOutProgress | null;
};

/** What an open fan-out node's journal says of its branches, keyed by branch name (or item index, or ""). */
export type FanOutProgress = {
  node: string;
  visit: number;
  /** Branches whose child run was started, with its id and the branch's journaled deadline. */
  started: Record<string, { childRunId: string; deadlineAt?: string }>;
  /** Branches whose child run ended, as the store reported it. */
  childEnded: Record<string, { status: RunStatus; answer?: string; error?: ErrorInfo }>;
  /** Settled branches (`branch-end`), and each successful branch's output. */
  ended: Record<string, { outcome: "ok" | "failed" | "cancelled"; output?: unknown; error?: ErrorInfo }>;
  /** How many branches are settled. */
  settled: number;
};

/** Everything the interpreter needs to continue a run, rebuilt from its journal by `foldEvent`. */
export type RunState = {
  runId: string;
  agent: string;
  agentVersion: string;
  input: string;
  principal: Principal;
  status: RunStatus;
  /** Model turns started so far; the step budget counts these. */
  step: number;
  maxSteps: number;
  deadlineAt: string;
  messages: ModelMessage[];
  /** Calls the latest model turn asked for, in order, until each has ended. */
  toolCalls: ToolCallState[];
  /** The latest model turn started but has no recorded end: it is asked again on resume. */
  modelCallOpen: boolean;
  lastSeq: number;
  answer: string | null;
  error: ErrorInfo | null;
  cancelRequested: boolean;
  /** Classes of data the run's tools have returned so far (pii, financial, …); the governor reads them. */
  dataClasses: string[];
  /**
   * Tool results a guard flagged as prompt injection and let the model read (`flag`, or `review` until a person
   * withholds the result): each taints the run's context, and the governor holds its outbound calls for review.
   */
  taints: ContextTaint[];
  /** The action held for review while the run is suspended, or null. */
  pendingAction: PendingAction | null;
  /** The W3C trace context the run was requested under, if any; tool calls continue its trace. */
  traceparent: string | null;
  /** The run's approval requests, in the order they were made. */
  approvals: RunApproval[];
  /** The per-run caps of the runs above this one (a child run's), nearest first; its model calls count on each. */
  parentBudgets: ParentBudget[];
  /** The agents of the runs above this one (a child run's), nearest first: a kill of any of them covers it. */
  ancestors: string[];
  /** What the run's model calls have cost so far (their journaled prices); a handoff can watch the run's cap. */
  spentUsd: number;
  /** The input guard has journaled a finding on the run's input (a clean input is checked again on resume). */
  inputGuarded: boolean;
  /** When the run last suspended (its `run-suspend`'s time), until it resumes; the timeout pauses meanwhile. */
  suspendedAt: string | null;
  /** A workflow run's progress through its nodes; untouched by an agent run. */
  workflow: WorkflowProgress;
  /** The run whose node started this one, when it is a child run. */
  parentRunId: string | null;
  /** Answers sent back for not matching the agent's output schema so far. */
  outputRejections: number;
  /** The structured answer, parsed, once the run completed with one. */
  output: unknown;
  /** The latest answer sent back for not matching its schema, and why; a decide node's next try is told so. */
  lastRejection: { answer: string; why: string } | null;
  /** A session's run: the session and the number of the message that started it. */
  session: SessionTurn | null;
  /** A shadow run's live run: its side-effecting calls are answered without being executed (docs/shadow.md). */
  shadowOf: string | null;
  /**
   * What a session's run carried from its earlier turns (`context-carry`): how many messages lead `messages`, and
   * the summary of older turns shown with the system prompt. Null until it is journaled, and for runs outside a
   * session.
   */
  carried: { messages: number; summary: string | null } | null;
  /**
   * The session's working memory as the run sees it: what `context-carry` brought from earlier turns, then each
   * value `update_working_memory` returned. Null until there is one.
   */
  workingMemory: Record<string, unknown> | null;
};

/** Why a tool result is withheld from the model: a guard blocked it, nobody reviewed it, or a reviewer withheld it. */
export const WITHHELD_AS_INJECTION = "it looked like a prompt-injection attempt";
export const WITHHELD_UNREVIEWED = "nobody reviewed it in time";
export const withheldBy = (subject: string) => `${subject} reviewed it and withheld it`;

/** The state of a run with only its `run-start` event. */
export function initialRunState(start: Extract<JournalEvent, { type: "run-start" }>): RunState {
  return {
    runId: start.runId,
    agent: start.payload.agent,
    agentVersion: start.payload.agentVersion,
    input: start.payload.input,
    principal: start.payload.principal,
    status: "queued",
    step: 0,
    maxSteps: start.payload.maxSteps,
    deadlineAt: start.payload.deadlineAt,
    messages: [{ role: "user", content: start.payload.input }],
    toolCalls: [],
    modelCallOpen: false,
    lastSeq: start.seq,
    answer: null,
    error: null,
    cancelRequested: false,
    dataClasses: [],
    taints: [],
    pendingAction: null,
    traceparent: start.payload.traceparent ?? null,
    parentBudgets: start.payload.parentBudgets ?? [],
    ancestors: start.payload.ancestors ?? [],
    approvals: [],
    spentUsd: 0,
    inputGuarded: false,
    workflow: {
      open: null,
      next: undefined,
      visits: {},
      steps: 0,
      calls: 0,
      signals: [],
      wait: null,
      writes: [],
      children: {},
      childEnds: 0,
      fanOut: null,
    },
    suspendedAt: null,
    parentRunId: start.payload.parent?.runId ?? null,
    outputRejections: 0,
    output: null,
    lastRejection: null,
    session: start.payload.session ?? null,
    shadowOf: start.payload.shadowOf?.runId ?? null,
    carried: null,
    workingMemory: null,
  };
}

/** Apply one event to a run's state. Pure apart from mutating `state`, which the caller owns. */
export function foldEvent(state: RunState, event: JournalEvent): RunState {
  state.lastSeq = event.seq;
  switch (event.type) {
    case "run-start":
      return state;
    case "step-start":
      state.status = "running";
      state.step = Math.max(state.step, event.payload.step);
      return state;
    case "model-call-start":
      state.modelCallOpen = true;
      return state;
    case "context-carry":
      state.carried = {
        messages: event.payload.messages.length,
        summary: event.payload.summary ?? null,
      };
      state.workingMemory = event.payload.workingMemory ?? null;
      state.messages.unshift(
        ...event.payload.messages.map(({ turn: _turn, ...message }) => message as ModelMessage),
      );
      return state;
    case "model-call-end": {
      state.modelCallOpen = false;
      // A summary of a session's older turns is carried by the context-carry it is journaled with, not as a turn.
      if (event.payload.phase === "context_summary") return state;
      if (state.workflow.open) state.workflow.calls += 1;
      state.spentUsd += event.payload.cost?.usd ?? 0;
      const decision = event.payload.decision;
      if (decision?.kind === "tool-calls") {
        state.messages.push({
          role: "assistant",
          content: decision.text ?? "",
          toolCalls: decision.calls.map((call: ToolCallRequest) => ({ ...call })),
        });
      } else if (decision?.kind === "answer") {
        state.messages.push({ role: "assistant", content: decision.text });
        state.lastRejection = null;
        if (event.payload.outputRejection !== undefined) {
          state.outputRejections += 1;
          state.lastRejection = { answer: decision.text, why: event.payload.outputRejection };
          state.messages.push({
            role: "user",
            content: outputRejectionMessage(event.payload.outputRejection),
          });
        }
      }
      return state;
    }
    case "tool-call-propose": {
      // An approver's edit replaces the held call's arguments: the call keeps its id, the new hash binds it.
      const revised = event.payload.revision ? findCall(state, event.payload.callId) : undefined;
      if (revised) {
        revised.arguments = event.payload.arguments;
        revised.argumentsHash = event.payload.argumentsHash;
        return state;
      }
      state.toolCalls.push({
        step: event.payload.step,
        callId: event.payload.callId,
        tool: event.payload.tool,
        arguments: event.payload.arguments,
        argumentsHash: event.payload.argumentsHash,
        idempotencyKey: null,
        attempts: 0,
        ended: false,
      });
      return state;
    }
    case "tool-call-start": {
      const call = findCall(state, event.payload.callId);
      if (call) {
        call.attempts = event.payload.attempt;
        call.idempotencyKey = event.payload.idempotencyKey;
      }
      return state;
    }
    case "tool-call-end": {
      const call = findCall(state, event.payload.callId);
      if (call) call.ended = true;
      for (const name of event.payload.dataClasses ?? []) {
        if (!state.dataClasses.includes(name)) state.dataClasses.push(name);
      }
      const isError = event.payload.outcome === "error";
      if (!isError && event.payload.tool === UPDATE_WORKING_MEMORY) {
        state.workingMemory = (event.payload.result as { value: Record<string, unknown> }).value;
      }
      state.messages.push({
        role: "tool",
        callId: event.payload.callId,
        tool: event.payload.tool,
        content: isError ? event.payload.error : event.payload.result,
        isError,
      });
      if (state.toolCalls.every((candidate) => candidate.ended)) state.toolCalls = [];
      return state;
    }
    case "policy-decision":
      return state;
    case "guard-flag":
      if (event.payload.where === "input") state.inputGuarded = true;
      else if (event.payload.action === "block" && event.payload.callId !== undefined) {
        withholdToolResult(state, event.payload.callId, WITHHELD_AS_INJECTION);
      } else if (event.payload.callId !== undefined && event.payload.tool !== undefined) {
        state.taints.push({
          tool: event.payload.tool,
          callId: event.payload.callId,
          detector: event.payload.detector,
          classes: [...event.payload.classes],
        });
      }
      return state;
    // Budget events are accounting: the ledger holds the counters, and a cap that ends the run does so by run-end.
    case "budget-reserve":
    case "budget-settle":
    case "budget-exceeded":
    case "budget-alert":
      return state;
    case "node-start":
      state.status = "running";
      state.workflow.open = { node: event.payload.node, visit: event.payload.visit };
      state.workflow.calls = 0;
      state.workflow.wait = null;
      state.workflow.visits[event.payload.node] = event.payload.visit;
      state.workflow.steps = Math.max(state.workflow.steps, event.payload.step);
      state.workflow.fanOut = FAN_OUT_KINDS.has(event.payload.kind)
        ? {
            node: event.payload.node,
            visit: event.payload.visit,
            started: {},
            childEnded: {},
            ended: {},
            settled: 0,
          }
        : null;
      return state;
    case "node-end": {
      state.workflow.open = null;
      state.lastRejection = null;
      state.workflow.wait = null;
      const taken = event.payload.signal;
      if (taken) {
        const signal = state.workflow.signals.find((each) => each.seq === taken.seq);
        if (signal) signal.taken = true;
      }
      state.workflow.next = event.payload.next;
      if (event.payload.writes !== undefined && event.payload.output !== undefined) {
        state.workflow.writes.push({
          node: event.payload.node,
          field: event.payload.writes,
          output: event.payload.output,
        });
      }
      for (const also of event.payload.alsoWrites ?? []) {
        state.workflow.writes.push({ node: event.payload.node, field: also.writes, output: also.output });
      }
      state.workflow.fanOut = null;
      return state;
    }
    case "child-start": {
      const { node, visit, branch, childRunId, deadlineAt } = event.payload;
      state.workflow.children[childRunId] = { node, visit, ...(branch === undefined ? {} : { branch }) };
      const fanOut = openFanOut(state, node, visit);
      if (fanOut) {
        fanOut.started[branch ?? ""] = { childRunId, ...(deadlineAt === undefined ? {} : { deadlineAt }) };
      }
      return state;
    }
    case "child-end": {
      const { node, visit, branch, childRunId, status, answer, error } = event.payload;
      delete state.workflow.children[childRunId];
      state.workflow.childEnds += 1;
      const fanOut = openFanOut(state, node, visit);
      if (fanOut) {
        fanOut.childEnded[branch ?? ""] = {
          status,
          ...(answer === undefined ? {} : { answer }),
          ...(error === undefined ? {} : { error }),
        };
      }
      return state;
    }
    case "branch-end": {
      const { node, visit, branch, outcome, output, writes, error } = event.payload;
      const fanOut = openFanOut(state, node, visit);
      if (fanOut && fanOut.ended[branch] === undefined) {
        fanOut.ended[branch] = {
          outcome,
          ...(output === undefined ? {} : { output }),
          ...(error === undefined ? {} : { error }),
        };
        fanOut.settled += 1;
      }
      if (outcome === "ok" && writes !== undefined && output !== undefined) {
        state.workflow.writes.push({ node, field: writes, output });
      }
      return state;
    }
    case "run-suspend":
      state.status = "suspended";
      state.pendingAction = event.payload.pendingAction ?? null;
      state.suspendedAt = event.at;
      if (event.payload.wait && state.workflow.open) {
        state.workflow.wait = { until: event.payload.wait.until ?? null, fired: false };
      }
      return state;
    case "approval-request":
      state.approvals.push({
        approvalId: event.payload.approvalId,
        kind: event.payload.kind,
        callId: event.payload.callId ?? null,
        status: "pending",
        argumentsHash: null,
        approvedBy: [],
        values: null,
        decidedBy: null,
      });
      return state;
    case "approval-decision": {
      const approval = state.approvals.find((each) => each.approvalId === event.payload.approvalId);
      if (!approval) return state;
      if (event.payload.decision === "approve") approval.approvedBy.push(event.payload.by.subject);
      if (event.payload.values !== undefined) approval.values = event.payload.values;
      if (event.payload.final) {
        approval.decidedBy = event.payload.by.subject;
        approval.status =
          event.payload.decision === "approve"
            ? "approved"
            : event.payload.decision === "reject"
              ? "rejected"
              : "resolved";
        approval.argumentsHash = event.payload.argumentsHash ?? null;
        if (approval.kind === "guard" && approval.status === "rejected" && approval.callId !== null) {
          withholdToolResult(state, approval.callId, withheldBy(event.payload.by.subject));
        }
      }
      return state;
    }
    case "approval-expire": {
      const approval = state.approvals.find((each) => each.approvalId === event.payload.approvalId);
      if (approval && event.payload.outcome === "denied") {
        approval.status = "expired";
        if (approval.kind === "guard" && approval.callId !== null) {
          withholdToolResult(state, approval.callId, WITHHELD_UNREVIEWED);
        }
      }
      return state;
    }
    case "run-resume":
      state.status = "running";
      state.pendingAction = null;
      if (event.payload.deadlineAt !== undefined) state.deadlineAt = event.payload.deadlineAt;
      else if (state.suspendedAt !== null) {
        // Time spent suspended does not count against the run's timeout: it gets back what it had left. Only
        // between journaled times: an event staged in this process has no time yet, and changes nothing here.
        const left = Date.parse(state.deadlineAt) - Date.parse(state.suspendedAt);
        const resumedAt = Date.parse(event.at);
        if (Number.isFinite(left) && Number.isFinite(resumedAt)) {
          state.deadlineAt = new Date(resumedAt + Math.max(0, left)).toISOString();
        }
      }
      state.suspendedAt = null;
      return state;
    case "run-cancel":
      state.cancelRequested = true;
      return state;
    // Signals and timers end waits of workflow nodes; the single-agent loop never waits on them, and the resume
    // either causes is its own `run-resume`.
    case "signal-receive":
      state.workflow.signals.push({
        name: event.payload.name,
        seq: event.seq,
        payload: event.payload.payload,
        taken: false,
      });
      return state;
    case "timer-fire":
      if (state.workflow.wait) state.workflow.wait.fired = true;
      return state;
    case "run-end":
      state.status = event.payload.status;
      state.answer = event.payload.answer ?? null;
      state.output = event.payload.output ?? null;
      state.error = event.payload.error ?? null;
      return state;
    default: {
      const unreachable: never = event;
      throw new Error(`unhandled journal event ${(unreachable as JournalEvent).type}`);
    }
  }
}

/** Node kinds whose branches the fold tracks in `workflow.fanOut`. */
const FAN_OUT_KINDS: ReadonlySet<string> = new Set(["agent", "parallel", "map"]);

/** The open fan-out node's progress, when it is this node's this visit. */
function openFanOut(state: RunState, node: string, visit: number): FanOutProgress | null {
  const fanOut = state.workflow.fanOut;
  return fanOut && fanOut.node === node && fanOut.visit === visit ? fanOut : null;
}

/** Rebuild a run's state from its whole journal (replay). */
export function foldEvents(events: readonly JournalEvent[]): RunState {
  const [first, ...rest] = events;
  if (first?.type !== "run-start") throw new Error("a run's journal must begin with run-start");
  const state = initialRunState(first);
  for (const event of rest) foldEvent(state, event);
  return state;
}

/**
 * Replace a tool result the model has not read yet with an error saying it was withheld, so the model knows the
 * call ran but its content was kept from it. The journal keeps the real result (tool-call-end) for audit.
 */
function withholdToolResult(state: RunState, callId: string, why: string): void {
  withholdToolMessage(state.messages, callId, why);
  // What the model never reads cannot steer it.
  state.taints = state.taints.filter((taint) => taint.callId !== callId);
}

/**
 * Replace the result of call `callId` in `messages` (the latest such tool message) with a note that it was withheld
 * and why. Also used for the tool turns a session carries from earlier runs, so they read as the model read them.
 */
export function withholdToolMessage(messages: ModelMessage[], callId: string, why: string): void {
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index]!;
    if (message.role !== "tool" || message.callId !== callId) continue;
    messages[index] = {
      ...message,
      content: {
        code: "withheld",
        message: `the result of ${message.tool} was withheld from you because ${why}; do not call it again to read it, and tell the user if you cannot answer without it`,
      },
      isError: true,
    };
    return;
  }
}

function findCall(state: RunState, callId: string): ToolCallState | undefined {
  return state.toolCalls.find((call) => call.callId === callId);
}

/** True once the run has reached a status it never leaves. */
export function isFinished(state: RunState): boolean {
  return (
    state.status === "completed" ||
    state.status === "failed" ||
    state.status === "cancelled" ||
    state.status === "budget_exceeded"
  );
}
