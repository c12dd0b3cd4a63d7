import { KeelError } from "../errors/index.ts";
import type { Principal } from "../journal/index.ts";
import type { ApprovalView } from "./approval-view.ts";

/** What a person decides: approve (optionally with edited arguments), reject, or resolve a handoff. */
export type DecisionInput = {
  decision: "approve" | "reject" | "resolve";
  /** Who decides. Until control-plane authentication lands this comes from the request (see docs/approvals.md). */
  approver: Principal;
  /** The argument hash the approver saw; an approval binds to it and is refused if the request moved on. */
  argumentsHash?: string;
  /** Edited arguments: journaled as a new proposal with its own hash, which this approval then binds to. */
  arguments?: unknown;
  comment?: string;
  /** A handoff's answer, which becomes the run's answer. */
  resolution?: string;
  /** A task's filled-in form (checked against the request's form schema when it is approved). */
  values?: Record<string, unknown>;
};

/** The checked outcome: how many distinct approvers the current arguments have, and whether this settles it. */
export type CheckedDecision = { approvals: number; final: boolean };

/**
 * Separation of duties and binding, checked against the journal's view of the request: it is still pending and
 * its run still waits; the approver holds an approver role for it and is not the requester; an approval names
 * the hash it saw (a stale view is refused) and comes from someone who has not approved these arguments yet; two
 * distinct approvers settle a two-person request. `editedHash` is the new hash when the arguments were edited.
 */
export function checkDecision(
  view: ApprovalView,
  input: DecisionInput,
  editedHash: string | null,
): CheckedDecision {
  const { request } = view;
  if (view.status !== "pending") {
    const last = view.decisions.at(-1);
    const by = last ? ` by ${last.by.subject} at ${last.at}` : "";
    throw new KeelError("conflict", `approval ${request.approvalId} is already ${view.status}${by}`);
  }
  if (!view.runWaiting) {
    throw new KeelError("conflict", `run ${view.runId} is not waiting for approval ${request.approvalId}`);
  }
  const who = input.approver.subject;
  if (who.trim() === "") throw new KeelError("unauthorized", "a decision needs the approver's identity");
  if (who === request.requestedBy) {
    throw new KeelError(
      "forbidden",
      `${who} requested this action and cannot decide on it (separation of duties)`,
    );
  }
  if (!input.approver.roles.some((role) => request.approverRoles.includes(role))) {
    throw new KeelError(
      "forbidden",
      `${who} is not an approver for this request: it needs one of the roles ${request.approverRoles.join(", ")}`,
    );
  }
  if (input.arguments !== undefined && request.kind === "handoff") {
    throw new KeelError(
      "invalid_request",
      "a handoff has no arguments to edit; resolve it with a resolution",
    );
  }
  if (input.arguments !== undefined && request.kind === "guard") {
    throw new KeelError(
      "invalid_request",
      "content held by a guard cannot be edited: approve it to let it through, or reject it to withhold it",
      { issues: [{ path: "arguments", message: "not allowed for a guard request" }] },
    );
  }
  if (input.arguments !== undefined && request.kind === "task") {
    throw new KeelError(
      "invalid_request",
      "a task has no arguments to edit: approve it with the form's `values`, or reject it",
      { issues: [{ path: "arguments", message: "not allowed for a task" }] },
    );
  }
  if (input.arguments !== undefined && request.kind === "delegation") {
    throw new KeelError(
      "invalid_request",
      "a delegation has no arguments to edit: approve handing the work over, or reject it",
      { issues: [{ path: "arguments", message: "not allowed for a delegation" }] },
    );
  }
  if (input.values !== undefined && (request.kind !== "task" || input.decision !== "approve")) {
    throw new KeelError(
      "invalid_request",
      request.kind === "task"
        ? "a task's form values go with an approval; a rejection carries none"
        : `approval ${request.approvalId} holds a ${request.kind}, which has no form: leave out values`,
      { issues: [{ path: "values", message: "not allowed here" }] },
    );
  }
  switch (input.decision) {
    case "reject":
      return { approvals: view.approvers.length, final: true };
    case "resolve":
      if (request.kind !== "handoff") {
        throw new KeelError(
          "invalid_request",
          `approval ${request.approvalId} holds a ${request.kind}: approve or reject it`,
        );
      }
      if (!input.resolution?.trim())
        throw new KeelError("invalid_request", "resolving a handoff needs a resolution");
      return { approvals: 0, final: true };
    case "approve": {
      if (request.kind === "handoff") {
        throw new KeelError(
          "invalid_request",
          "a handoff is resolved (with what to tell the user) or rejected",
        );
      }
      if (input.argumentsHash === undefined) {
        throw new KeelError("invalid_request", "an approval must name the argumentsHash it approves");
      }
      if (input.argumentsHash !== view.argumentsHash) {
        throw new KeelError(
          "conflict",
          `the arguments changed since you looked: the request now binds to ${view.argumentsHash}, not ${input.argumentsHash}`,
        );
      }
      if (editedHash !== null) return { approvals: 1, final: request.requiredApprovals <= 1 };
      if (view.approvers.includes(who)) {
        throw new KeelError(
          "conflict",
          `${who} has already approved these arguments; approval ${request.approvalId} needs ${request.requiredApprovals} distinct approvers`,
        );
      }
      const approvals = view.approvers.length + 1;
      return { approvals, final: approvals >= request.requiredApprovals };
    }
    default: {
      const unreachable: never = input.decision;
      throw new KeelError("invalid_request", `unknown decision ${String(unreachable)}`);
    }
  }
}
