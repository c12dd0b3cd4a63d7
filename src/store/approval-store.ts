import type { ApprovalRecord, ApprovalStatsRow, ListApprovalsOptions } from "./approval-rows.ts";

export type {
  ApprovalRecord,
  ApprovalStatsRow,
  ApprovalStatus,
  ListApprovalsOptions,
} from "./approval-rows.ts";

/**
 * The approval queue as read by the API, the SLA timer and the metrics: approval requests as projected from the
 * journal's approval events in the append that wrote them. A port of its own beside `Store` (runs and journals):
 * the SQL stores implement both (`approval-queries.ts`), and a reader of the queue needs nothing else.
 */
export interface ApprovalQueries {
  /** Pending requests most urgent and soonest due first, decided ones newest first. */
  listApprovals(options: ListApprovalsOptions): Promise<ApprovalRecord[]>;
  getApproval(approvalId: string): Promise<ApprovalRecord | null>;
  /**
   * An approval request with the tenant of the run it belongs to (null: no such request), in one read: the
   * authorization gate finds the owner and the route the request from the same statement.
   */
  approvalWithTenant(approvalId: string): Promise<{ record: ApprovalRecord; tenant: string } | null>;
  /** Counts and decision times per agent, tool, kind, route and status (queue metrics). */
  approvalStats(options?: { since?: Date; tenant?: string }): Promise<ApprovalStatsRow[]>;
}
