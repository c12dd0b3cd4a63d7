import type { SqlClient } from "../store/index.ts";

/** How decided approval requests of one class of held call ended: one status (and edit flag) and its count. */
export type ApprovalHistoryRow = {
  tool: string;
  /** The review policies that held the call, sorted: together they name the class of call. */
  policies: string[];
  status: "approved" | "rejected" | "expired";
  /** The approver changed the arguments before approving. */
  edited: boolean;
  count: number;
};

type Row = {
  tool: string;
  policies: unknown;
  status: ApprovalHistoryRow["status"];
  edited: boolean;
  count: string | number;
};

/**
 * An agent's decided tool-call approval requests, grouped by tool, the policies that held them, status and edit,
 * from the approvals queue (a projection of the journal). Drafts, handoffs and tasks are held by design, not by
 * decision authority, so they are not evidence for it; pending and withdrawn requests were never decided.
 */
export async function readApprovalHistory(
  sql: SqlClient,
  options: { agent: string; tenant?: string; since?: Date },
): Promise<ApprovalHistoryRow[]> {
  const { rows } = await sql.query<Row>(
    `SELECT tool, request->'policies' AS policies, status, edited, count(*) AS count
       FROM keel_approvals
      WHERE agent = $1 AND kind = 'tool-call' AND tool IS NOT NULL
        AND status IN ('approved', 'rejected', 'expired')
        AND ($2::text IS NULL OR run_id IN (SELECT run_id FROM keel_runs WHERE tenant = $2::text))
        AND ($3::timestamptz IS NULL OR requested_at >= $3::timestamptz)
      GROUP BY tool, request->'policies', status, edited
      ORDER BY tool, status, edited`,
    [options.agent, options.tenant ?? null, options.since ?? null],
  );
  const merged = new Map<string, ApprovalHistoryRow>();
  for (const row of rows) {
    const raw = typeof row.policies === "string" ? (JSON.parse(row.policies) as unknown) : row.policies;
    const policies = (Array.isArray(raw) ? raw.map(String) : []).sort();
    // The same set of policies journaled in another order is the same class.
    const key = JSON.stringify([row.tool, policies, row.status, row.edited]);
    const entry = merged.get(key) ?? {
      tool: row.tool,
      policies,
      status: row.status,
      edited: row.edited,
      count: 0,
    };
    entry.count += Number(row.count);
    merged.set(key, entry);
  }
  return [...merged.values()];
}
