import { KeelError } from "../errors/index.ts";
import {
  APPROVAL_COLUMNS,
  type ApprovalRecord,
  type ApprovalRow,
  type ApprovalStatsRow,
  type ListApprovalsOptions,
  toApprovalRecord,
} from "./approval-rows.ts";
import type { SqlClient } from "./store.ts";

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1_000;

/** The queue: pending requests most urgent and soonest due first; decided ones newest first. */
export async function listApprovals(
  sql: SqlClient,
  options: ListApprovalsOptions,
): Promise<ApprovalRecord[]> {
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new KeelError("invalid_request", `limit must be an integer from 1 to ${MAX_LIMIT}`);
  }
  const conditions: string[] = [];
  const params: unknown[] = [];
  const status = options.dueBy === undefined ? options.status : "pending";
  if (status !== undefined) conditions.push(`status = $${params.push(status)}`);
  if (options.routeTo !== undefined) conditions.push(`route_to = $${params.push(options.routeTo)}`);
  if (options.agent !== undefined) conditions.push(`agent = $${params.push(options.agent)}`);
  if (options.tool !== undefined) conditions.push(`tool = $${params.push(options.tool)}`);
  if (options.kind !== undefined) conditions.push(`kind = $${params.push(options.kind)}`);
  if (options.notKind !== undefined) conditions.push(`kind <> $${params.push(options.notKind)}`);
  if (options.runId !== undefined) conditions.push(`run_id = $${params.push(options.runId)}`);
  if (options.dueBy !== undefined) conditions.push(`expires_at <= $${params.push(options.dueBy)}`);
  if (options.tenant !== undefined)
    conditions.push(
      `run_id IN (SELECT run_id FROM keel_runs WHERE tenant = $${params.push(options.tenant)})`,
    );
  const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
  const order =
    options.dueBy !== undefined
      ? "expires_at, approval_id"
      : status === "pending"
        ? "priority DESC, expires_at, approval_id"
        : "requested_at DESC, approval_id";
  const { rows } = await sql.query<ApprovalRow>(
    `SELECT ${APPROVAL_COLUMNS} FROM keel_approvals ${where} ORDER BY ${order} LIMIT $${params.push(limit)}`,
    params,
  );
  return rows.map(toApprovalRecord);
}

/**
 * An approval request and the tenant of the run it belongs to, or null when there is no such request (or, which
 * the schema's foreign key rules out, no such run).
 */
export async function approvalWithTenant(
  sql: SqlClient,
  approvalId: string,
): Promise<{ record: ApprovalRecord; tenant: string } | null> {
  const { rows } = await sql.query<ApprovalRow & { run_tenant: string | null }>(
    `SELECT ${APPROVAL_COLUMNS}, (SELECT r.tenant FROM keel_runs AS r WHERE r.run_id = a.run_id) AS run_tenant
       FROM keel_approvals AS a WHERE approval_id = $1`,
    [approvalId],
    { prepared: "keel_approval_with_tenant" },
  );
  const row = rows[0];
  return row?.run_tenant ? { record: toApprovalRecord(row), tenant: row.run_tenant } : null;
}

/** One approval request, or null. */
export async function getApproval(sql: SqlClient, approvalId: string): Promise<ApprovalRecord | null> {
  const { rows } = await sql.query<ApprovalRow>(
    `SELECT ${APPROVAL_COLUMNS} FROM keel_approvals WHERE approval_id = $1`,
    [approvalId],
    { prepared: "keel_get_approval" },
  );
  return rows[0] ? toApprovalRecord(rows[0]) : null;
}

type StatsRow = {
  agent: string;
  tool: string | null;
  kind: ApprovalRecord["kind"];
  route_to: string;
  status: ApprovalRecord["status"];
  count: string | number;
  edited: string | number;
  overdue: string | number;
  p50: number | null;
  p95: number | null;
  total: number | null;
};

/** Counts and decision-time percentiles per agent, tool, kind, route and status; `since` bounds requested_at. */
export async function approvalStats(
  sql: SqlClient,
  options: { since?: Date; tenant?: string },
): Promise<ApprovalStatsRow[]> {
  const { rows } = await sql.query<StatsRow>(
    `SELECT agent, tool, kind, route_to, status, count(*) AS count,
            count(*) FILTER (WHERE edited) AS edited,
            count(*) FILTER (WHERE status = 'pending' AND expires_at <= clock_timestamp()) AS overdue,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - requested_at))
              FILTER (WHERE decided_at IS NOT NULL) AS p50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - requested_at))
              FILTER (WHERE decided_at IS NOT NULL) AS p95,
            sum(extract(epoch FROM decided_at - requested_at)) FILTER (WHERE decided_at IS NOT NULL)::float8 AS total
       FROM keel_approvals
      WHERE ($1::timestamptz IS NULL OR requested_at >= $1::timestamptz)
        AND ($2::text IS NULL OR run_id IN (SELECT run_id FROM keel_runs WHERE tenant = $2::text))
      GROUP BY agent, tool, kind, route_to, status
      ORDER BY agent, tool, kind, route_to, status`,
    [options.since ?? null, options.tenant ?? null],
  );
  return rows.map((row) => ({
    agent: row.agent,
    tool: row.tool,
    kind: row.kind,
    routeTo: row.route_to,
    status: row.status,
    count: Number(row.count),
    edited: Number(row.edited),
    overdue: Number(row.overdue),
    decisionSecondsP50: row.p50 === null ? null : Number(row.p50),
    decisionSecondsP95: row.p95 === null ? null : Number(row.p95),
    decisionSecondsSum: Number(row.total ?? 0),
  }));
}
