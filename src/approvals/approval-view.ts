import type { ApprovalPriority, JournalEvent, PayloadOf, Principal } from "../journal/index.ts";

/** One decision on a request, as journaled. */
export type ApprovalDecisionRecord = {
  decision: "approve" | "reject" | "resolve";
  by: Principal;
  at: string;
  argumentsHash?: string;
  edited?: { previousHash: string; argumentsHash: string };
  comment?: string;
  resolution?: string;
  /** A task's filled-in form. */
  values?: Record<string, unknown>;
  final: boolean;
};

/** Where a request stands, folded from its run's journal: the source of truth a decision is checked against. */
export type ApprovalView = {
  runId: string;
  request: PayloadOf<"approval-request">;
  requestSeq: number;
  status: "pending" | "approved" | "rejected" | "expired" | "resolved" | "withdrawn";
  /** The hash the request binds to now: the proposal's, or the latest edit's. */
  argumentsHash: string | null;
  /** Distinct people who approved the current arguments. */
  approvers: string[];
  decisions: ApprovalDecisionRecord[];
  expiries: { outcome: "denied" | "escalated"; at: string; routeTo?: string }[];
  routeTo: string;
  priority: ApprovalPriority;
  expiresAt: string;
  /** The held call with its real arguments (tool calls and drafts). */
  call: { step: number; callId: string; tool: string; arguments: unknown; argumentsHash: string } | null;
  /** When the run suspended for this request; the run gets back the time it had left then. */
  suspendedAt: string | null;
  /** The run's deadline when it suspended. */
  deadlineAt: string;
  /** True while the run waits for this request (suspended, not ended, not resumed since). */
  runWaiting: boolean;
  runEnded: boolean;
  steps: number;
};

/** Fold a run's events into the view of one of its approval requests; null when the run has no such request. */
export function foldApproval(events: readonly JournalEvent[], approvalId: string): ApprovalView | null {
  let view: ApprovalView | null = null;
  let deadlineAt = "";
  let steps = 0;
  const proposals = new Map<
    string,
    { step: number; tool: string; arguments: unknown; argumentsHash: string }
  >();
  for (const event of events) {
    switch (event.type) {
      case "run-start":
        deadlineAt = event.payload.deadlineAt;
        break;
      case "step-start":
        steps = Math.max(steps, event.payload.step);
        break;
      case "tool-call-propose":
        proposals.set(event.payload.callId, {
          step: event.payload.step,
          tool: event.payload.tool,
          arguments: event.payload.arguments,
          argumentsHash: event.payload.argumentsHash,
        });
        break;
      case "approval-request":
        if (event.payload.approvalId !== approvalId) break;
        view = startView(event, proposals, deadlineAt, steps);
        break;
      case "run-suspend":
        if (view && event.payload.approvalId === approvalId) {
          view.suspendedAt = event.at;
          view.deadlineAt = deadlineAt;
          view.runWaiting = true;
        }
        break;
      case "approval-decision":
        if (view && event.payload.approvalId === approvalId) applyDecision(view, event, proposals);
        break;
      case "approval-expire":
        if (view && event.payload.approvalId === approvalId) {
          view.expiries.push({
            outcome: event.payload.outcome,
            at: event.at,
            ...(event.payload.routeTo === undefined ? {} : { routeTo: event.payload.routeTo }),
          });
          if (event.payload.outcome === "denied") view.status = "expired";
          if (event.payload.routeTo !== undefined) view.routeTo = event.payload.routeTo;
          if (event.payload.expiresAt !== undefined) view.expiresAt = event.payload.expiresAt;
          if (event.payload.priority !== undefined) view.priority = event.payload.priority;
        }
        break;
      case "run-resume":
        if (event.payload.deadlineAt !== undefined) deadlineAt = event.payload.deadlineAt;
        if (view) view.runWaiting = false;
        break;
      case "run-end":
        if (view) {
          view.runEnded = true;
          view.runWaiting = false;
          if (view.status === "pending") view.status = "withdrawn";
        }
        break;
      default:
        break;
    }
  }
  if (view) view.steps = steps;
  return view;
}

function startView(
  event: Extract<JournalEvent, { type: "approval-request" }>,
  proposals: ReadonlyMap<string, { step: number; tool: string; arguments: unknown; argumentsHash: string }>,
  deadlineAt: string,
  steps: number,
): ApprovalView {
  const request = event.payload;
  const proposal = request.callId === undefined ? undefined : proposals.get(request.callId);
  return {
    runId: event.runId,
    request,
    requestSeq: event.seq,
    status: "pending",
    argumentsHash: request.argumentsHash ?? null,
    approvers: [],
    decisions: [],
    expiries: [],
    routeTo: request.routeTo,
    priority: request.priority,
    expiresAt: request.expiresAt,
    call: proposal && request.callId !== undefined ? { ...proposal, callId: request.callId } : null,
    suspendedAt: null,
    deadlineAt,
    runWaiting: false,
    runEnded: false,
    steps,
  };
}

function applyDecision(
  view: ApprovalView,
  event: Extract<JournalEvent, { type: "approval-decision" }>,
  proposals: ReadonlyMap<string, { step: number; tool: string; arguments: unknown; argumentsHash: string }>,
): void {
  const decision = event.payload;
  view.decisions.push({
    decision: decision.decision,
    by: decision.by,
    at: event.at,
    ...(decision.argumentsHash === undefined ? {} : { argumentsHash: decision.argumentsHash }),
    ...(decision.edited === undefined ? {} : { edited: decision.edited }),
    ...(decision.comment === undefined ? {} : { comment: decision.comment }),
    ...(decision.resolution === undefined ? {} : { resolution: decision.resolution }),
    ...(decision.values === undefined ? {} : { values: decision.values }),
    final: decision.final,
  });
  if (decision.edited) {
    view.argumentsHash = decision.edited.argumentsHash;
    view.approvers = [];
    // The revised proposal was journaled just before this decision: the view holds its real arguments.
    const revised = view.call ? proposals.get(view.call.callId) : undefined;
    if (view.call && revised)
      view.call = { ...view.call, arguments: revised.arguments, argumentsHash: revised.argumentsHash };
  }
  if (decision.decision === "approve" && !view.approvers.includes(decision.by.subject)) {
    view.approvers.push(decision.by.subject);
  }
  if (decision.final) {
    view.status =
      decision.decision === "approve" ? "approved" : decision.decision === "reject" ? "rejected" : "resolved";
  }
}
