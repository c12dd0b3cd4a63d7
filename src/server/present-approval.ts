import type { ApprovalView } from "../approvals/index.ts";
import type { ApprovalRecord } from "../store/index.ts";

/** The API's JSON view of a queue entry. */
export function presentApproval(record: ApprovalRecord, now: Date = new Date()) {
  return {
    id: record.approvalId,
    runId: record.runId,
    agent: record.agent,
    agentVersion: record.agentVersion,
    kind: record.kind,
    tool: record.tool,
    status: record.status,
    routeTo: record.routeTo,
    priority: record.priority,
    summary: record.summary,
    reasons: record.request.reasons,
    arguments: record.request.arguments ?? null,
    ...(record.request.form === undefined ? {} : { form: record.request.form }),
    argumentsHash: record.argumentsHash,
    requestedBy: record.requestedBy,
    requiredApprovals: record.requiredApprovals,
    approvers: record.approvers,
    approverRoles: record.request.approverRoles,
    escalations: record.escalations,
    edited: record.edited,
    requestedAt: record.requestedAt.toISOString(),
    expiresAt: record.expiresAt.toISOString(),
    overdue: record.status === "pending" && record.expiresAt.getTime() <= now.getTime(),
    onTimeout: record.request.onTimeout,
    decidedAt: record.decidedAt?.toISOString() ?? null,
    decidedBy: record.decidedBy,
    links: {
      self: `/v1/approvals/${record.approvalId}`,
      decision: `/v1/approvals/${record.approvalId}/decision`,
      run: `/v1/runs/${record.runId}`,
    },
  };
}

/** The detail view: the queue entry plus the run's context and every decision, edit and expiry from the journal. */
export function presentApprovalDetail(
  record: ApprovalRecord,
  view: ApprovalView | null,
  now: Date = new Date(),
) {
  return {
    ...presentApproval(record, now),
    policies: record.request.policies,
    context: record.request.context,
    decisions: view?.decisions ?? [],
    expiries: view?.expiries ?? [],
  };
}

/** The detail view right after a decision: the queue entry as it was, brought up to date from the journal's view. */
export function presentDecided(record: ApprovalRecord, view: ApprovalView, now: Date = new Date()) {
  const last = view.decisions.at(-1);
  const settled = view.status !== "pending";
  return {
    ...presentApprovalDetail(record, view, now),
    status: view.status,
    argumentsHash: view.argumentsHash,
    approvers: view.approvers,
    edited: view.decisions.some((decision) => decision.edited !== undefined),
    overdue: false,
    decidedAt: settled ? (last?.at ?? null) : null,
    decidedBy: settled ? (last?.by.subject ?? null) : null,
  };
}
