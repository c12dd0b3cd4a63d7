import { randomBytes } from "node:crypto";
import type { ApprovalKind, PayloadOf, Principal } from "../journal/index.ts";
import { hashPayload } from "../journal/index.ts";
import { type ApprovalAgent, routeApproval } from "./approval-policy.ts";
import { redactArguments } from "./redact-arguments.ts";

/** How many of the run's latest turns a request carries, and how long each may be. */
const RECENT_TURNS = 6;
const TURN_LENGTH = 240;
const INPUT_LENGTH = 2_000;

/** A time-ordered approval id, like run ids: sortable by creation, unique without coordination. */
export function newApprovalId(now: Date = new Date()): string {
  return `apr_${now.getTime().toString(36).padStart(9, "0")}${randomBytes(6).toString("hex")}`;
}

/** A JSON Schema object, as a task's form is given. */
export type JsonSchemaObject = { [key: string]: unknown };

/** One turn of the run's conversation, as much as a request needs of it. */
export type ConversationTurn = { role: string; content: unknown; tool?: string; toolCalls?: unknown };

/** What the runtime knows when it asks a person. */
export type ApprovalRequestInput = {
  agent: ApprovalAgent;
  kind: ApprovalKind;
  run: {
    input: string;
    principal: Principal;
    step: number;
    dataClasses: readonly string[];
    messages: readonly ConversationTurn[];
  };
  /** The held call (tool calls and drafts; for a guard on a tool result, the call whose result was flagged). */
  call?: { callId: string; tool: string; arguments: unknown; argumentsHash: string };
  /** For a guard: what the reviewer is shown about the flagged text, and the hash of that text the decision binds to. */
  inspected?: { summary: unknown; textHash: string };
  /**
   * For a task (a workflow's approval node): the node visit it belongs to (its `callId`, `<node>.<visit>`), what
   * the person is asked (the summary, rendered from the run's state), the form's JSON Schema, and the node's queue
   * and SLA. The decision binds to the hash of the summary and form: what the person was shown.
   */
  task?: { callId: string; summary: string; form: JsonSchemaObject; routeTo: string; slaMs: number };
  /** For a handoff to a named queue or person (a workflow's handoff node): where it goes. */
  routeTo?: string;
  /**
   * For a delegation the governor held (a workflow's handoff to another agent): the node visit it belongs to (its
   * `callId`, `<node>.<visit>`), the agent the work would go to and why. The decision binds to their hash.
   */
  delegation?: { callId: string; to: string; reason: string };
  reasons: readonly string[];
  policies: readonly string[];
  now: Date;
  approvalId?: string;
};

/**
 * The `approval-request` event for a held call, a draft or a handoff: what the agent tried and why it needs a
 * person, the call with its arguments redacted (bound by the real arguments' hash), the run's context, and the
 * queue, priority, approvers and deadline it gets from the agent's approvals section.
 */
export function buildApprovalRequest(input: ApprovalRequestInput): PayloadOf<"approval-request"> {
  const { agent, kind, call, run, now, task, delegation } = input;
  const routeTo = task?.routeTo ?? input.routeTo;
  const routing = routeApproval(agent, {
    kind,
    ...(call ? { tool: call.tool } : {}),
    ...(routeTo === undefined ? {} : { routeTo }),
    ...(task ? { slaMs: task.slaMs } : {}),
  });
  const shown = input.inspected
    ? input.inspected.summary
    : call
      ? redactArguments(call.arguments)
      : delegation
        ? { agent: delegation.to, reason: delegation.reason }
        : undefined;
  return {
    approvalId: input.approvalId ?? newApprovalId(now),
    kind,
    summary: task
      ? `${agent.name}: ${task.summary}`
      : delegation
        ? `${agent.name} wants to hand the work to agent ${delegation.to}: ${delegation.reason}${
            input.reasons.length > 0 ? ` — held because ${input.reasons.join("; ")}` : ""
          }`
        : summarize(
            kind,
            agent.name,
            call ? { tool: call.tool, arguments: shown } : undefined,
            input.reasons,
          ),
    reasons: [...input.reasons],
    policies: [...input.policies],
    ...(call
      ? {
          callId: call.callId,
          tool: call.tool,
          arguments: shown,
          argumentsHash: input.inspected?.textHash ?? call.argumentsHash,
        }
      : input.inspected
        ? { arguments: shown, argumentsHash: input.inspected.textHash }
        : task
          ? {
              callId: task.callId,
              form: task.form,
              argumentsHash: hashPayload({ summary: task.summary, form: task.form }),
            }
          : delegation
            ? { callId: delegation.callId, arguments: shown, argumentsHash: hashPayload(shown) }
            : {}),
    context: {
      agent: agent.name,
      agentVersion: agent.version,
      input: shorten(run.input, INPUT_LENGTH),
      step: run.step,
      principal: run.principal,
      dataClasses: [...run.dataClasses],
      recent: run.messages.slice(-RECENT_TURNS).map(describeTurn),
    },
    requestedBy: run.principal.subject,
    routeTo: routing.routeTo,
    priority: routing.priority,
    requiredApprovals: routing.requiredApprovals,
    approverRoles: routing.approverRoles,
    requestedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + routing.slaMs).toISOString(),
    onTimeout: routing.onTimeout,
    ...(routing.escalateTo === undefined ? {} : { escalateTo: routing.escalateTo }),
  };
}

function summarize(
  kind: ApprovalKind,
  agent: string,
  call: { tool: string; arguments: unknown } | undefined,
  reasons: readonly string[],
): string {
  const why = reasons.length > 0 ? ` — ${reasons.join("; ")}` : "";
  switch (kind) {
    case "tool-call":
      return `${agent} wants to call ${call?.tool} ${shorten(JSON.stringify(call?.arguments) ?? "", 160)}${why}`;
    case "draft":
      return `${agent} drafted ${call?.tool} ${shorten(JSON.stringify(call?.arguments) ?? "", 160)}: edit and send it, or reject it`;
    case "handoff":
      return `${agent} handed the run to a person${why}`;
    case "task":
      return `${agent} asks a person to complete a task${why}`;
    case "delegation":
      return `${agent} wants to hand the work to another agent${why}`;
    case "guard":
      return `${agent}: the injection guard held ${call ? `the result of ${call.tool}` : "the run's input"} for review${why}`;
    default: {
      const unreachable: never = kind;
      return String(unreachable);
    }
  }
}

function describeTurn(turn: ConversationTurn): string {
  const who = turn.role === "tool" ? `tool ${turn.tool ?? ""}`.trim() : turn.role;
  const content =
    typeof turn.content === "string" ? turn.content : JSON.stringify(redactArguments(turn.content));
  const calls =
    Array.isArray(turn.toolCalls) && turn.toolCalls.length > 0
      ? ` → ${turn.toolCalls.map((call: { tool?: string }) => call.tool ?? "?").join(", ")}`
      : "";
  return shorten(`${who}: ${content ?? ""}${calls}`, TURN_LENGTH);
}

function shorten(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
