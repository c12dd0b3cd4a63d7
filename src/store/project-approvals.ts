import type { JournalEvent } from "../journal/index.ts";
import { PRIORITIES } from "./approval-rows.ts";
import type { SqlClient } from "./store.ts";

/** True for the events the approvals projection folds; every other append skips it without a query. */
export function isApprovalEvent(event: JournalEvent): boolean {
  return (
    event.type === "approval-request" ||
    event.type === "approval-decision" ||
    event.type === "approval-expire"
  );
}

/**
 * Fold approval events into `keel_approvals` inside the append's transaction, like the run row: the queue a
 * person sees can never disagree with the journal, and rebuilding it means replaying these three events.
 */
export async function projectApprovals(
  tx: SqlClient,
  events: readonly JournalEvent[],
  options: { endedWhileSuspended: readonly string[] },
): Promise<void> {
  for (const event of events) {
    switch (event.type) {
      case "approval-request": {
        const request = event.payload;
        await tx.query(
          `INSERT INTO keel_approvals
             (approval_id, run_id, agent, agent_version, kind, tool, call_id, arguments_hash, status, route_to,
              priority, requested_by, required_approvals, summary, requested_at, expires_at, request, request_seq)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11, $12, $13, $14::timestamptz,
                   $15::timestamptz, $16::text::jsonb, $17)
           ON CONFLICT (approval_id) DO NOTHING`,
          [
            request.approvalId,
            event.runId,
            request.context.agent,
            request.context.agentVersion,
            request.kind,
            request.tool ?? null,
            request.callId ?? null,
            request.argumentsHash ?? null,
            request.routeTo,
            PRIORITIES.indexOf(request.priority),
            request.requestedBy,
            request.requiredApprovals,
            request.summary,
            request.requestedAt,
            request.expiresAt,
            JSON.stringify(request),
            event.seq,
          ],
          { prepared: "keel_project_approval_request" },
        );
        break;
      }
      case "approval-decision": {
        const decision = event.payload;
        const status = !decision.final
          ? "pending"
          : decision.decision === "approve"
            ? "approved"
            : decision.decision === "reject"
              ? "rejected"
              : "resolved";
        // An edit binds the request to new arguments: approvals of the old ones no longer count.
        await tx.query(
          `UPDATE keel_approvals
              SET status = $2::text,
                  arguments_hash = COALESCE($3::text, arguments_hash),
                  edited = edited OR $3::text IS NOT NULL,
                  approvers = CASE WHEN $4::text <> 'approve' THEN approvers
                                   WHEN $3::text IS NOT NULL THEN ARRAY[$5::text]
                                   ELSE array_append(array_remove(approvers, $5::text), $5::text) END,
                  decided_at = CASE WHEN $6::boolean THEN $7::timestamptz ELSE decided_at END,
                  decided_by = CASE WHEN $6::boolean THEN $5::text ELSE decided_by END
            WHERE approval_id = $1`,
          [
            decision.approvalId,
            status,
            decision.edited?.argumentsHash ?? null,
            decision.decision,
            decision.by.subject,
            decision.final,
            event.at,
          ],
          { prepared: "keel_project_approval_decision" },
        );
        break;
      }
      case "approval-expire": {
        const expiry = event.payload;
        if (expiry.outcome === "denied") {
          await tx.query(
            `UPDATE keel_approvals SET status = 'expired', decided_at = $2::timestamptz, decided_by = 'system:sla'
              WHERE approval_id = $1`,
            [expiry.approvalId, event.at],
          );
        } else {
          await tx.query(
            `UPDATE keel_approvals
                SET escalations = escalations + 1, route_to = COALESCE($2::text, route_to),
                    expires_at = COALESCE($3::timestamptz, expires_at),
                    priority = COALESCE($4::smallint, priority)
              WHERE approval_id = $1`,
            [
              expiry.approvalId,
              expiry.routeTo ?? null,
              expiry.expiresAt ?? null,
              expiry.priority === undefined ? null : PRIORITIES.indexOf(expiry.priority),
            ],
          );
        }
        break;
      }
      default:
        break;
    }
  }
  // A run that ends while it waits (a cancel) withdraws what it was waiting for: nobody can decide it any more.
  if (options.endedWhileSuspended.length > 0) {
    await tx.query(
      `UPDATE keel_approvals SET status = 'withdrawn', decided_at = clock_timestamp(), decided_by = 'system:run-end'
        WHERE run_id = ANY($1::text[]) AND status = 'pending'`,
      [options.endedWhileSuspended],
    );
  }
}
