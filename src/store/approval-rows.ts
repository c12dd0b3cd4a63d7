import type { ApprovalKind, ApprovalPriority, PayloadOf } from "../journal/index.ts";

/** Where an approval request stands. */
export type ApprovalStatus = "pending" | "approved" | "rejected" | "expired" | "resolved" | "withdrawn";

/** One approval request as the queue holds it: a projection of the run's approval events. */
export type ApprovalRecord = {
  approvalId: string;
  runId: string;
  agent: string;
  agentVersion: string;
  kind: ApprovalKind;
  tool: string | null;
  callId: string | null;
  argumentsHash: string | null;
  status: ApprovalStatus;
  routeTo: string;
  priority: ApprovalPriority;
  requestedBy: string;
  requiredApprovals: number;
  /** Distinct people who approved the current arguments. */
  approvers: string[];
  escalations: number;
  edited: boolean;
  summary: string;
  requestedAt: Date;
  expiresAt: Date;
  decidedAt: Date | null;
  decidedBy: string | null;
  /** The approval-request event's payload (arguments redacted). */
  request: PayloadOf<"approval-request">;
  requestSeq: number;
};

/** Filters for the queue; every one given must hold. */
export type ListApprovalsOptions = {
  status?: ApprovalStatus;
  routeTo?: string;
  agent?: string;
  tool?: string;
  kind?: ApprovalKind;
  /** Leave out requests of this kind (the SLA timer leaves tasks to their run's durable timer). */
  notKind?: ApprovalKind;
  runId?: string;
  /** Only requests of runs acting for this tenant. */
  tenant?: string;
  /** Only pending requests due at or before this time (the SLA timer's question). */
  dueBy?: Date;
  limit?: number;
};

/** Counts and decision times of approval requests per agent, tool, route and status. */
export type ApprovalStatsRow = {
  agent: string;
  tool: string | null;
  kind: ApprovalKind;
  routeTo: string;
  status: ApprovalStatus;
  count: number;
  edited: number;
  /** Pending requests already past their deadline (the timer has not caught them yet). */
  overdue: number;
  /** Seconds from request to decision, for decided requests. */
  decisionSecondsP50: number | null;
  decisionSecondsP95: number | null;
  decisionSecondsSum: number;
};

/** Priorities as stored (smallint), lowest first. */
export const PRIORITIES: readonly ApprovalPriority[] = ["low", "normal", "high", "urgent"];

/** Columns of `keel_approvals` that make up an ApprovalRecord. */
export const APPROVAL_COLUMNS = `approval_id, run_id, agent, agent_version, kind, tool, call_id, arguments_hash,
  status, route_to, priority, requested_by, required_approvals, approvers, escalations, edited, summary,
  requested_at, expires_at, decided_at, decided_by, request, request_seq`;

/** A `keel_approvals` row as the drivers return it. */
export type ApprovalRow = {
  approval_id: string;
  run_id: string;
  agent: string;
  agent_version: string;
  kind: ApprovalKind;
  tool: string | null;
  call_id: string | null;
  arguments_hash: string | null;
  status: ApprovalStatus;
  route_to: string;
  priority: number;
  requested_by: string;
  required_approvals: number;
  approvers: string[];
  escalations: number;
  edited: boolean;
  summary: string;
  requested_at: Date;
  expires_at: Date;
  decided_at: Date | null;
  decided_by: string | null;
  request: PayloadOf<"approval-request">;
  request_seq: number;
};

/** Map a `keel_approvals` row to an ApprovalRecord. */
export function toApprovalRecord(row: ApprovalRow): ApprovalRecord {
  return {
    approvalId: row.approval_id,
    runId: row.run_id,
    agent: row.agent,
    agentVersion: row.agent_version,
    kind: row.kind,
    tool: row.tool,
    callId: row.call_id,
    argumentsHash: row.arguments_hash,
    status: row.status,
    routeTo: row.route_to,
    priority: PRIORITIES[Number(row.priority)] ?? "normal",
    requestedBy: row.requested_by,
    requiredApprovals: Number(row.required_approvals),
    approvers: row.approvers,
    escalations: Number(row.escalations),
    edited: row.edited,
    summary: row.summary,
    requestedAt: row.requested_at,
    expiresAt: row.expires_at,
    decidedAt: row.decided_at,
    decidedBy: row.decided_by,
    request: row.request,
    requestSeq: Number(row.request_seq),
  };
}
