import { buildApprovalRequest } from "../approvals/index.ts";
import type { ApprovalKind, NewEvent } from "../journal/index.ts";
import type { NodeContext } from "./graph.ts";
import type { RunApproval, RunState, ToolCallState } from "./run-state.ts";

/** What a person asked about a run is shown of it: its input, principal, step, data classes and latest turns. */
export function approvalContext(state: RunState, step: number) {
  return {
    input: state.input,
    principal: state.principal,
    step,
    dataClasses: state.dataClasses,
    messages: state.messages,
  };
}

/**
 * The events that hand an action to a person: the approval request (what was tried, why, the call with redacted
 * arguments bound to its hash, the run's context, the queue and deadline) and `run-suspend` naming it. Committed
 * together, with the policy decision that asked for review, so a suspended run always has its request.
 */
export function requestApproval(
  context: NodeContext,
  options: {
    kind: ApprovalKind;
    call?: ToolCallState;
    /** For a guard: what the person is shown about the flagged text, and the hash the decision binds to. */
    inspected?: { summary: unknown; textHash: string };
    reasons: readonly string[];
    policies: readonly string[];
    now?: Date;
  },
): NewEvent[] {
  const { agent, journal } = context;
  const state = journal.state;
  if (state.shadowOf !== null) return shadowReviewEnd(state.step, options);
  const { call } = options;
  const request = buildApprovalRequest({
    agent,
    kind: options.kind,
    run: approvalContext(state, state.step),
    ...(call
      ? {
          call: {
            callId: call.callId,
            tool: call.tool,
            arguments: call.arguments,
            argumentsHash: call.argumentsHash,
          },
        }
      : {}),
    ...(options.inspected ? { inspected: options.inspected } : {}),
    reasons: options.reasons,
    policies: options.policies,
    now: options.now ?? new Date(),
  });
  const waitingFor =
    options.kind === "handoff"
      ? `handed off to ${request.routeTo}`
      : `waiting for ${options.kind === "draft" ? "a person to edit and send the draft" : options.kind === "guard" ? "a person to review content the injection guard flagged" : "human review"} (${request.routeTo})`;
  return [
    { type: "approval-request", payload: request },
    {
      type: "run-suspend",
      payload: {
        reason: `${waitingFor}: ${options.reasons.join("; ")}`,
        ...(call
          ? {
              pendingAction: {
                kind: options.kind,
                callId: call.callId,
                tool: call.tool,
                argumentsHash: options.inspected?.textHash ?? call.argumentsHash,
                policies: [...options.policies],
                reasons: [...options.reasons],
              },
            }
          : {}),
        approvalId: request.approvalId,
      },
    },
  ];
}

/** The approval a person gave for exactly this call's current arguments, if any. */
export function approvalFor(approvals: readonly RunApproval[], call: ToolCallState): RunApproval | undefined {
  return approvals.find(
    (approval) =>
      approval.callId === call.callId &&
      approval.status === "approved" &&
      approval.argumentsHash === call.argumentsHash,
  );
}

/**
 * What a shadow run journals where a live run would hand itself to a person (a handoff, content a guard holds for
 * review, a call in doubt): the run ends `cancelled` with code `shadow_review` and the question it would have asked.
 * A shadow run never waits for a person, and no approval request of it reaches a queue.
 */
function shadowReviewEnd(steps: number, options: { kind: string; reasons: readonly string[] }): NewEvent[] {
  return [
    {
      type: "run-end",
      payload: {
        status: "cancelled",
        error: {
          code: "shadow_review",
          message: `a shadow run asks no person; here a live run would have asked for ${options.kind} review: ${options.reasons.join("; ")}`,
        },
        steps,
      },
    },
  ];
}
