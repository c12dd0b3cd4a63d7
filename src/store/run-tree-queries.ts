import { KeelError } from "../errors/index.ts";
import { type CancelRequest, descendantCancelRequest } from "./run-record.ts";
import { RUN_COLUMNS, type RunRow, toRunRecord } from "./run-rows.ts";
import type {
  CancelTreeResult,
  ListChildrenOptions,
  RunTree,
  RunTreeNode,
  RunTreeOptions,
} from "./run-tree-store.ts";
import type { RunRecord, SqlClient } from "./store.ts";
import type { StoreDriver } from "./store-driver.ts";
import { lockTreeExclusive } from "./tree-locks.ts";

/** How deep a cancel descends: a guard against a malformed tree, far beyond any real one. */
const MAX_CANCEL_DEPTH = 1_000;

/** Check a bound given by a caller: a whole number from 1 to `max`, or the default. */
function bound(value: number | undefined, name: string, fallback: number, max: number): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < 1 || chosen > max) {
    throw new KeelError("invalid_request", `${name} must be a whole number from 1 to ${max}`, {
      issues: [{ path: name, message: `expected 1 to ${max}` }],
    });
  }
  return chosen;
}

/** A page of a run's children, oldest first, after the child `after` when given. */
export async function listChildren(sql: SqlClient, options: ListChildrenOptions): Promise<RunRecord[]> {
  const limit = bound(options.limit, "limit", 50, 1_000);
  const { rows } = await sql.query<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM keel_runs
      WHERE parent_run_id = $1
        AND ($2::text IS NULL
             OR (created_at, run_id) > (SELECT created_at, run_id FROM keel_runs WHERE run_id = $2::text))
      ORDER BY created_at, run_id
      LIMIT $3`,
    [options.runId, options.after ?? null, limit],
  );
  return rows.map(toRunRecord);
}

/**
 * The run and its descendants in one recursive statement. Each level reads at most `maxChildren + 1` children per
 * run through the parent index (the extra one only says there are more, and is not descended into); PostgreSQL
 * evaluates the recursion level by level, so the `maxRuns` limit cuts the deepest levels first.
 */
export async function getRunTree(sql: SqlClient, options: RunTreeOptions): Promise<RunTree | null> {
  const maxDepth = bound(options.maxDepth, "maxDepth", 16, 64);
  const maxRuns = bound(options.maxRuns, "maxRuns", 1_000, 10_000);
  const maxChildren = bound(options.maxChildren, "maxChildren", 100, 1_000);
  const { rows } = await sql.query<RunRow & { depth: number; rank: number | string }>(
    `WITH RECURSIVE tree (run_id, depth, rank) AS (
       SELECT run_id, 0, 1::bigint FROM keel_runs WHERE run_id = $1
       UNION ALL
       SELECT child.run_id, tree.depth + 1, child.rank
         FROM tree
         CROSS JOIN LATERAL (
           SELECT run_id, row_number() OVER (ORDER BY created_at, run_id) AS rank
             FROM keel_runs WHERE parent_run_id = tree.run_id
            ORDER BY created_at, run_id
            LIMIT $3 + 1
         ) AS child
        WHERE tree.depth < $2 AND tree.rank <= $3
     ), bounded AS (
       SELECT run_id, depth, rank FROM tree LIMIT $4 + 1
     )
     SELECT ${RUN_COLUMNS.split(/,\s*/)
       .map((column) => `r.${column}`)
       .join(", ")}, bounded.depth, bounded.rank
       FROM bounded JOIN keel_runs AS r USING (run_id)
      ORDER BY bounded.depth, r.created_at, r.run_id`,
    [options.runId, maxDepth, maxChildren, maxRuns],
  );
  if (rows.length === 0) return null;
  let truncated = rows.length > maxRuns;
  const kept = rows.slice(0, maxRuns);
  const nodes = new Map<string, RunTreeNode>();
  let root: RunTreeNode | null = null;
  for (const row of kept) {
    const node: RunTreeNode = { run: toRunRecord(row), children: [], moreChildren: false };
    if (Number(row.depth) === 0) {
      root = node;
      nodes.set(node.run.runId, node);
      continue;
    }
    const parent = nodes.get(row.parent_run_id ?? "");
    // A child past the per-run bound only marks its parent; one whose parent was cut by maxRuns is left out.
    if (!parent) continue;
    if (Number(row.rank) > maxChildren) {
      parent.moreChildren = true;
      truncated = true;
      continue;
    }
    parent.children.push(node);
    nodes.set(node.run.runId, node);
  }
  // Runs at the depth bound may have children of their own that were not read.
  return { root: root!, runs: nodes.size, truncated: truncated || kept.some((row) => row.depth >= maxDepth) };
}

/** A cancel request as the store keeps it: a non-empty requester, and a reason only when one was given. */
function checkCancelRequest(request: CancelRequest): CancelRequest {
  if (typeof request?.by !== "string" || request.by.length === 0) {
    throw new KeelError("invalid_request", "a cancel names who requested it", {
      issues: [{ path: "request.by", message: "expected a non-empty string" }],
    });
  }
  if (request.reason !== undefined && typeof request.reason !== "string") {
    throw new KeelError("invalid_request", "a cancel's reason is text", {
      issues: [{ path: "request.reason", message: "expected a string" }],
    });
  }
  return request.reason === undefined ? { by: request.by } : { by: request.by, reason: request.reason };
}

/**
 * Mark a run and its live descendants for cancellation. The tree's exclusive lock waits for children being created
 * anywhere in the tree to commit, and holds new ones back until this commits, so the recursive statement (whose
 * snapshot is taken after the lock) sees every child there is; one created afterwards reads its parent's flag. The
 * rows are locked in run_id order and held to COMMIT, and every append locks its run's row and checks the flag (the
 * cancel fence), so each marked run's `last_seq` it returns is the last event committed before the cancel.
 */
export async function cancelTree(
  driver: StoreDriver,
  runId: string,
  request: CancelRequest,
  notifyAs: string,
): Promise<CancelTreeResult | null> {
  const requested = checkCancelRequest(request);
  return await driver.transaction(async (tx) => {
    const placed = await tx.query<{ root_run_id: string }>(
      "SELECT COALESCE(root_run_id, run_id) AS root_run_id FROM keel_runs WHERE run_id = $1",
      [runId],
    );
    if (!placed.rows[0]) return null;
    await lockTreeExclusive(tx, placed.rows[0].root_run_id);
    // The tree's live rows are locked first, in run_id order as every append locks them, so a cancel and a group
    // commit holding several runs of the tree cannot deadlock.
    const live = await tx.query<{ run_id: string }>(
      `WITH RECURSIVE tree (run_id, depth) AS (
         SELECT run_id, 0 FROM keel_runs WHERE run_id = $1
         UNION ALL
         SELECT child.run_id, tree.depth + 1
           FROM keel_runs AS child JOIN tree ON child.parent_run_id = tree.run_id
          WHERE tree.depth < $2
       )
       SELECT run_id FROM keel_runs
        WHERE run_id IN (SELECT run_id FROM tree) AND status IN ('queued', 'running', 'suspended')
        ORDER BY run_id FOR NO KEY UPDATE`,
      [runId, MAX_CANCEL_DEPTH],
    );
    const marked = await tx.query<{ run_id: string; last_seq: number | string }>(
      `UPDATE keel_runs SET cancel_requested = true, updated_at = clock_timestamp(),
              cancel_request = COALESCE(cancel_request, CASE WHEN run_id = $2 THEN $3::text::jsonb ELSE $4::text::jsonb END)
        WHERE run_id = ANY($1::text[]) AND status IN ('queued', 'running', 'suspended')
          AND (NOT cancel_requested OR run_id = $2)
       RETURNING run_id, last_seq`,
      [
        live.rows.map((row) => row.run_id),
        runId,
        JSON.stringify(requested),
        JSON.stringify(descendantCancelRequest(runId, requested)),
      ],
    );
    // Suspended runs become claimable once cancel is requested, so workers should look.
    if (marked.rows.length > 0) await tx.query("SELECT keel_notify('keel_work', $1, $2)", [runId, notifyAs]);
    const current = await tx.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM keel_runs WHERE run_id = $1`, [runId]);
    return {
      run: toRunRecord(current.rows[0]!),
      marked: marked.rows.map((row) => row.run_id),
      // Read by the UPDATE that holds each row's lock to COMMIT: every append takes that lock and checks the flag.
      fencedAt: marked.rows.map((row) => ({ runId: row.run_id, lastSeq: Number(row.last_seq) })),
    };
  });
}
