import { KeelError } from "../errors/index.ts";
import type { HeadRow } from "./commit-appends.ts";
import { LEASE_COLUMNS, type LeaseRow, toLease } from "./run-rows.ts";
import type { Lease, SqlClient } from "./store.ts";

/**
 * Which runs may be handed to a worker: waiting to start, running without a live worker, or suspended with a
 * cancel to carry out. Finished runs never are.
 */
const NEEDS_WORKER = "(status IN ('queued', 'running') OR (status = 'suspended' AND cancel_requested))";

/**
 * A suspended run whose durable timer came due by the database clock (or whose child ended: wakeParents sets
 * `wake_at` to the time of that commit), with no cancel to carry out (a cancel makes it
 * claimable through NEEDS_WORKER already). The same predicate as the `keel_runs_wake_at_idx` index, plus the clock.
 * The clock is `now()`, the start of the claim's own statement (it runs in autocommit), not `clock_timestamp()`: a
 * volatile bound cannot be an index condition, so each claim read every suspended run with a timer set (a run
 * waiting for a person has one, its deadline) and filtered them. A timer that comes due while the statement runs is
 * taken by the next claim.
 */
const TIMER_DUE =
  "(status = 'suspended' AND wake_at IS NOT NULL AND wake_at <= now() AND NOT cancel_requested)";

/** Nobody holds a live lease. Expiry is judged by the database clock, never a worker's (they drift). */
const LEASE_IS_FREE =
  "(lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at <= clock_timestamp())";

/** The journal head a grant returns beside the lease, so the holder's first append can be one fenced statement. */
/**
 * A queued run a worker has leased is running from then on, whether or not its first step is journaled yet: a step
 * that changes nothing outside Keel is journaled when it ends, so without this a run could read "queued" for as long
 * as its first model or read-only tool call takes.
 */
const STARTED = "status = CASE WHEN status = 'queued' THEN 'running' ELSE status END";
/** A granted run's head, and whether it has a parent (its end must then count against the parent's row). */
const HEAD =
  "status, last_seq, last_hash, answer, error::text AS error, parent_run_id IS NOT NULL AS has_parent";

/** When a lease granted now for the TTL in parameter `ttlParameter` (milliseconds) runs out. */
function expiresAt(ttlParameter: string): string {
  return `clock_timestamp() + ${ttlParameter}::float8 * interval '1 millisecond'`;
}

/**
 * Leases and fencing (invariant 3). Every grant increments `lease_token` under the row lock, so at most one
 * holder has the current token; appends compare against it in their own transaction.
 */
export class RunLeases {
  readonly #sql: SqlClient;
  readonly #onWork: () => void;
  readonly #onGranted: (rows: readonly (HeadRow & { has_parent: boolean })[]) => void;
  readonly #notifyAs: string;

  constructor(
    sql: SqlClient,
    onWork: () => void,
    onGranted: (rows: readonly (HeadRow & { has_parent: boolean })[]) => void,
    notifyAs: string,
  ) {
    this.#sql = sql;
    this.#notifyAs = notifyAs;
    this.#onWork = onWork;
    this.#onGranted = onGranted;
  }

  /** Grant the lease when no live one exists; null when someone holds it or the run has ended. */
  async acquire(options: { runId: string; owner: string; ttlMs: number }): Promise<Lease | null> {
    checkTtl(options.ttlMs);
    // A concurrent grant holds the row lock; UPDATE waits for it, then re-checks the WHERE against its result.
    const { rows } = await this.#sql.query<LeaseRow & HeadRow & { has_parent: boolean }>(
      `UPDATE keel_runs SET lease_owner = $3, lease_token = lease_token + 1, lease_expires_at = ${expiresAt("$2")},
              ${STARTED}
        WHERE run_id = $1 AND status IN ('queued', 'running', 'suspended') AND ${LEASE_IS_FREE}
        RETURNING ${LEASE_COLUMNS}, ${HEAD}`,
      [options.runId, options.ttlMs, options.owner],
      { prepared: "keel_acquire_lease" },
    );
    if (rows[0]) {
      this.#onGranted(rows);
      return toLease(rows[0]);
    }
    const exists = await this.#sql.query("SELECT 1 FROM keel_runs WHERE run_id = $1", [options.runId]);
    if (exists.rows.length === 0) throw new KeelError("not_found", `run ${options.runId} does not exist`);
    return null;
  }

  /**
   * Extend a lease whose token is still current. An expired lease nobody took over is still the current one,
   * so renewing it is safe; once another worker took it, the token moved on and this returns null.
   */
  async renew(options: { lease: Lease; ttlMs: number }): Promise<Lease | null> {
    checkTtl(options.ttlMs);
    const { lease } = options;
    const { rows } = await this.#sql.query<LeaseRow>(
      `UPDATE keel_runs SET lease_expires_at = ${expiresAt("$2")}
        WHERE run_id = $1 AND lease_token = $3 AND lease_owner = $4
        RETURNING ${LEASE_COLUMNS}`,
      [lease.runId, options.ttlMs, lease.token, lease.owner],
      { prepared: "keel_renew_lease" },
    );
    return rows[0] ? toLease(rows[0]) : null;
  }

  /**
   * Give the lease up; a no-op when it was already lost. The token stays, so the old holder stays fenced. A run
   * handed back with nothing journaled after its `run-start` is queued again, as it was before it was leased.
   */
  async release(lease: Lease): Promise<void> {
    const { rows } = await this.#sql.query(
      `WITH released AS (
         UPDATE keel_runs SET lease_owner = NULL, lease_expires_at = NULL,
                status = CASE WHEN status = 'running' AND last_seq = 1 THEN 'queued' ELSE status END
          WHERE run_id = $1 AND lease_token = $2 AND lease_owner = $3
          RETURNING run_id, status, cancel_requested
       )
       SELECT keel_notify('keel_work', run_id, $4) FROM released WHERE ${NEEDS_WORKER}`,
      [lease.runId, lease.token, lease.owner, this.#notifyAs],
      { prepared: "keel_release_lease" },
    );
    // Only a run that still needs a worker is news to the others.
    if (rows.length > 0) this.#onWork();
  }

  /**
   * Lease up to `limit` runs that need a worker, oldest first, and suspended runs whose timer came due. SKIP LOCKED
   * makes concurrent claimers pass over rows another is taking instead of queueing behind it, and a row updated
   * since this statement's snapshot is re-checked after locking, so two claimers never receive the same run. The
   * due timers are found through their own index (`wake_at`), whose predicate cannot name the clock.
   */
  async claim(options: {
    owner: string;
    ttlMs: number;
    limit: number;
    agents?: readonly string[];
  }): Promise<{ leases: Lease[]; due: { lease: Lease; dueAt: Date; childEnded: boolean }[] }> {
    checkTtl(options.ttlMs);
    if (options.limit <= 0 || options.agents?.length === 0) return { leases: [], due: [] };
    const { rows } = await this.#sql.query<
      LeaseRow & HeadRow & { has_parent: boolean; timer_due: Date | null; child_ended: boolean | null }
    >(
      `WITH ready AS (
         SELECT run_id, created_at FROM keel_runs
          WHERE ${NEEDS_WORKER} AND ${LEASE_IS_FREE} AND ($3::text[] IS NULL OR agent = ANY($3::text[]))
          ORDER BY created_at, run_id
          LIMIT $4
          FOR UPDATE SKIP LOCKED
       ), due AS (
         SELECT run_id, created_at FROM keel_runs
          WHERE ${TIMER_DUE} AND ${LEASE_IS_FREE} AND ($3::text[] IS NULL OR agent = ANY($3::text[]))
          ORDER BY wake_at, run_id
          LIMIT $4
          FOR UPDATE SKIP LOCKED
       ), claimable AS (
         SELECT run_id FROM (SELECT * FROM ready UNION ALL SELECT * FROM due) AS candidates
          ORDER BY created_at, run_id
          LIMIT $4
       )
       , claimed AS (
         UPDATE keel_runs AS r
            SET lease_owner = $1, lease_token = r.lease_token + 1, lease_expires_at = ${expiresAt("$2")},
                ${STARTED}
           FROM claimable WHERE r.run_id = claimable.run_id
         RETURNING r.created_at, ${LEASE_COLUMNS.split(", ")
           .map((column) => `r.${column}`)
           .join(", ")}, r.status, r.last_seq, r.last_hash, r.answer, r.error, r.parent_run_id,
           CASE WHEN r.status = 'suspended' AND NOT r.cancel_requested THEN r.wake_at END AS timer_due,
           r.children_awaited IS NOT NULL AND r.children_ended > r.children_awaited AS child_ended
       )
       -- UPDATE … RETURNING has no order of its own: hand runs out oldest first, as promised.
       SELECT ${LEASE_COLUMNS}, ${HEAD}, timer_due, child_ended FROM claimed ORDER BY created_at, run_id`,
      [options.owner, options.ttlMs, options.agents ? [...options.agents] : null, Math.floor(options.limit)],
      { prepared: "keel_claim_runs" },
    );
    this.#onGranted(rows);
    const leases = rows.map(toLease);
    const due = rows.flatMap((row, index) =>
      row.timer_due
        ? [{ lease: leases[index]!, dueAt: new Date(row.timer_due), childEnded: row.child_ended === true }]
        : [],
    );
    return { leases, due };
  }
}

function checkTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new KeelError("invalid_request", "ttlMs must be positive");
}
