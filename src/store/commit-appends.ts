import { KeelError } from "../errors/index.ts";
import {
  firstFencedEvent,
  hashCanonicalJson,
  hashEvent,
  JOURNAL_SCHEMA_VERSION,
  type JournalEvent,
  type NewEvent,
  type RunStatus,
  TERMINAL_STATUSES,
} from "../journal/index.ts";
import { isApprovalEvent, projectApprovals } from "./project-approvals.ts";
import type { Lease, SqlClient } from "./store.ts";
import type { ValidatedEvent } from "./validate-new-events.ts";

/** One caller's append: events for one run under one lease, already checked by validateNewEvents. */
export type AppendRequest = { lease: Lease; events: readonly ValidatedEvent[] };

/** What became of one request in a group commit; the others in the batch are unaffected by a rejection. */
export type AppendOutcome = { ok: true; events: JournalEvent[] } | { ok: false; error: KeelError };

/** The locked head of a run's journal and its projection, advanced in memory as the batch is placed. */
export type RunHead = {
  status: RunStatus;
  lastSeq: number;
  lastHash: string;
  leaseOwner: string | null;
  leaseToken: number;
  answer: string | null;
  error: string | null;
  /** The run's cancel was requested: the fence refuses any append that leaves work open (`firstFencedEvent`). */
  cancelRequested: boolean;
  changed: boolean;
  /**
   * Set by a `run-suspend` in this append: the wait's `until` (a durable timer) or null for none. Absent, the row's
   * `wake_at` stays as it is while the run stays suspended; leaving `suspended` always clears it.
   */
  wake?: string | null;
  /**
   * Set with `wake` by a `run-suspend`: the `child-end` count its wait names (it waits for one more), or null when it
   * does not wait on children.
   */
  awaited?: number | null;
};

/**
 * How an append sets `keel_runs.updated_at`: to now, unless the run was running and stays running. A running run's
 * steps then change no indexed column of its row, so PostgreSQL updates the row in place (a HOT update: no new
 * entry in any of the row's eight indexes, about 1.3 KB less WAL per step). Whoever looks for runs whose journal
 * moved reads running runs by status and the rest by `updated_at` (the telemetry projector does).
 */
export const UPDATED_AT_UNLESS_STILL_RUNNING =
  "CASE WHEN r.status = 'running' AND v.status = 'running' THEN r.updated_at ELSE clock_timestamp() END";

/** The columns of a run row a group commit needs, for a caller that already holds the row locked. */
export const HEAD_COLUMNS =
  "run_id, status, last_seq, last_hash, lease_owner, lease_token, answer, error::text AS error, cancel_requested";

/** A run row's head and projection, as `HEAD_COLUMNS` selects them. */
export type HeadRow = {
  run_id: string;
  status: RunStatus;
  last_seq: number;
  last_hash: string;
  lease_owner: string | null;
  lease_token: number | string;
  answer: string | null;
  error: unknown;
  cancel_requested: boolean;
};

export type PlacedEvent = { event: JournalEvent; payloadJson: string; leaseToken: number };

/**
 * The body of one group-commit transaction. Locks every affected run row in run_id order (so two
 * stores committing at once cannot deadlock), then checks each request's fencing token against the
 * locked row: a stale token is rejected here, by the store, and nothing of that request is written
 * (invariant 3). Accepted events get dense seqs and hash links continuing from the run's head, go in
 * with one multi-row INSERT, and the run projections are updated in the same transaction.
 */
export async function commitAppends(
  tx: SqlClient,
  requests: readonly AppendRequest[],
  at: string,
  locked: readonly HeadRow[] | undefined,
  notifyAs: string,
): Promise<{ outcomes: AppendOutcome[]; written: string[]; heads: ReadonlyMap<string, RunHead> }> {
  const runIds = [...new Set(requests.map((request) => request.lease.runId))];
  // A caller that already locked every row in this transaction (and read it back) saves the round trip.
  // A run ending here may be a child whose parent's row the commit updates (wakeParents): the parents are locked
  // with the runs, in the one run_id order every commit takes, so two commits cannot deadlock over them. A run's
  // parent never changes, so reading it before the lock is safe.
  const ending = [
    ...new Set(
      requests.flatMap((request) =>
        request.events.some((event) => event.type === "run-end") ? [request.lease.runId] : [],
      ),
    ),
  ];
  const rows =
    locked && runIds.every((runId) => locked.some((row) => row.run_id === runId))
      ? locked
      : (
          await tx.query<HeadRow>(
            `SELECT ${HEAD_COLUMNS} FROM keel_runs
              WHERE run_id = ANY($1::text[])
                 OR run_id IN (SELECT parent_run_id FROM keel_runs WHERE run_id = ANY($2::text[]))
              ORDER BY run_id FOR UPDATE`,
            [runIds, ending],
            { prepared: "keel_lock_heads" },
          )
        ).rows;
  const heads = new Map<string, RunHead>(
    rows.map((row) => [
      row.run_id,
      {
        status: row.status,
        lastSeq: Number(row.last_seq),
        lastHash: row.last_hash,
        leaseOwner: row.lease_owner,
        leaseToken: Number(row.lease_token),
        answer: row.answer,
        error: row.error as string | null,
        cancelRequested: row.cancel_requested,
        changed: false,
      },
    ]),
  );
  const suspendedAtStart = new Set(rows.filter((row) => row.status === "suspended").map((row) => row.run_id));
  const placed: PlacedEvent[] = [];
  const outcomes = requests.map((request): AppendOutcome => {
    const head = heads.get(request.lease.runId);
    if (!head)
      return { ok: false, error: new KeelError("not_found", `run ${request.lease.runId} does not exist`) };
    const outcome = placeRequest(request, head, at);
    if (outcome.ok) placed.push(...outcome.placed);
    return outcome.ok ? { ok: true, events: outcome.placed.map((entry) => entry.event) } : outcome;
  });
  const approvalEvents = placed.flatMap(({ event }) => (isApprovalEvent(event) ? [event] : []));
  const endedWhileSuspended = placed.flatMap(({ event }) =>
    event.type === "run-end" && suspendedAtStart.has(event.runId) ? [event.runId] : [],
  );
  if (approvalEvents.length > 0 || endedWhileSuspended.length > 0) {
    await projectApprovals(tx, approvalEvents, { endedWhileSuspended });
  }
  const written = [...heads].filter(([, head]) => head.changed);
  await writeBatch(tx, written, placed, notifyAs);
  const ended = placed.flatMap(({ event }) => (event.type === "run-end" ? [event.runId] : []));
  if (ended.length > 0) await wakeParents(tx, ended, notifyAs);
  return { outcomes, written: written.map(([runId]) => runId), heads };
}

/**
 * Count the runs that ended in this commit against their parents, and wake each parent suspended on its children
 * whose count now passes the one its wait names: `wake_at` is set to now, so the next claim takes it (and journals a
 * resume for a child's end, not a timer). A parent that suspends after the count passed is woken by its own commit
 * (writeBatch), so an end that lands between a parent's look at its children and its suspend is not missed.
 */
async function wakeParents(tx: SqlClient, ended: readonly string[], notifyAs: string): Promise<void> {
  // A caller that locked its run itself (journalTransaction, ending a child run on a person's decision) did not lock
  // the parent in order with it: the UPDATE below takes the parent's lock then. Only a writer holding the parent and
  // then waiting on this very child could deadlock with it, and PostgreSQL would abort one of the two.
  await tx.query(
    `WITH counts AS (
       SELECT parent_run_id, count(*)::int AS ended FROM keel_runs
        WHERE run_id = ANY($1::text[]) AND parent_run_id IS NOT NULL
        GROUP BY parent_run_id
     ), parents AS (
       UPDATE keel_runs AS p
          SET children_ended = p.children_ended + counts.ended,
              wake_at = CASE WHEN p.status = 'suspended' AND p.children_awaited IS NOT NULL
                              AND p.children_ended + counts.ended > p.children_awaited
                             THEN clock_timestamp() ELSE p.wake_at END
         FROM counts WHERE p.run_id = counts.parent_run_id
       RETURNING p.run_id, p.wake_at IS NOT NULL AND p.status = 'suspended' AS woken
     )
     SELECT keel_notify('keel_work', run_id, $2) FROM parents WHERE woken`,
    [ended, notifyAs],
    { prepared: "keel_wake_parents" },
  );
}

/** Place one request's events after the run's head, or reject the whole request without touching the head. */
export function placeRequest(
  request: AppendRequest,
  head: RunHead,
  at: string,
): { ok: true; placed: PlacedEvent[] } | { ok: false; error: KeelError } {
  const { lease } = request;
  if (head.leaseOwner === null || head.leaseToken !== lease.token) {
    const why = head.leaseOwner === null ? "was released" : `was superseded by token ${head.leaseToken}`;
    return {
      ok: false,
      error: new KeelError("stale_lease", `lease token ${lease.token} on run ${lease.runId} ${why}`),
    };
  }
  if (TERMINAL_STATUSES.has(head.status)) {
    return { ok: false, error: new KeelError("conflict", `run ${lease.runId} has ended (${head.status})`) };
  }
  // The cancel fence: read under the row lock the cancel's UPDATE also took, so a cancel that committed first is
  // always seen, and nothing that starts work goes in after it.
  const starting = head.cancelRequested ? request.events[firstFencedEvent(request.events)] : undefined;
  if (starting) return { ok: false, error: cancelledError(lease.runId, starting.type) };
  const next = { ...head };
  const placed: PlacedEvent[] = [];
  for (const newEvent of request.events) {
    if (TERMINAL_STATUSES.has(next.status)) {
      return {
        ok: false,
        error: new KeelError("conflict", `run ${lease.runId} cannot take events after run-end`),
      };
    }
    if (newEvent.type === "run-start") {
      return { ok: false, error: new KeelError("invalid_request", "run-start is written by createRun only") };
    }
    // The canonical JSON validateNewEvents wrote: stored as it is, and hashed without writing it again.
    const payloadJson = newEvent.payloadJson;
    const seq = next.lastSeq + 1;
    const fields = {
      runId: lease.runId,
      seq,
      type: newEvent.type,
      at,
      payloadHash: hashCanonicalJson(payloadJson),
      prevHash: next.lastHash,
    };
    const hash = hashEvent(fields);
    // validateNewEvents already turned the payload into plain JSON, so it equals what readEvents returns.
    const event = {
      ...fields,
      payload: newEvent.payload,
      schemaVersion: JOURNAL_SCHEMA_VERSION,
      hash,
    } as JournalEvent;
    placed.push({ event, payloadJson, leaseToken: lease.token });
    project(next, newEvent);
    next.lastSeq = seq;
    next.lastHash = hash;
    next.changed = true;
  }
  Object.assign(head, next);
  return { ok: true, placed };
}

/** The fence's refusal: the run's cancel was requested, so it starts no new work (`STARTS_WORK`). */
export function cancelledError(runId: string, type: string): KeelError {
  return new KeelError(
    "cancelled",
    `run ${runId} is being cancelled: it starts no new work (${type} refused); settle what is in flight and end it`,
  );
}

/** Fold one event into the run row's projection: status, and the outcome once the run ends. */
function project(head: RunHead, event: NewEvent): void {
  switch (event.type) {
    case "step-start":
    case "run-resume":
      head.status = "running";
      return;
    case "run-suspend":
      head.status = "suspended";
      head.wake = event.payload.wait?.until ?? null;
      head.awaited = event.payload.wait?.children ?? null;
      return;
    case "run-end":
      head.status = event.payload.status;
      head.answer = event.payload.answer ?? null;
      head.error = event.payload.error
        ? JSON.stringify({ code: event.payload.error.code, message: event.payload.error.message })
        : null;
      return;
    case "run-start":
    case "model-call-start":
    case "model-call-end":
    case "tool-call-propose":
    case "policy-decision":
    case "tool-call-start":
    case "tool-call-end":
    case "run-cancel":
    case "approval-request":
    case "approval-decision":
    case "approval-expire":
    case "signal-receive":
    case "timer-fire":
    case "child-start":
    case "child-end":
    case "branch-end":
      return;
  }
}

/**
 * The part of an append statement that queues its events for the audit log's sequencer (assignLeafIndexes): one
 * narrow row per run the statement advanced (`runs`), with the first seq and count of its events (`$1` run ids, `$2`
 * seqs), whose commit marker is drawn when the row goes in, after the run row was locked (migration 0020).
 */
export const QUEUE_FOR_NUMBERING = `INSERT INTO keel_audit_pending (run_id, first_seq, count)
       SELECT q.run_id, min(q.first_seq), sum(cardinality(string_to_array(q.types, ' ')))::integer
         FROM unnest($1::text[], $2::int[], $3::text[]) AS q(run_id, first_seq, types)
        WHERE q.run_id IN (SELECT run_id FROM runs)
        GROUP BY q.run_id`;

/**
 * Insert the batches `batchColumns` gives as $1–$10, one row per append of one run (migration 0025); a caller
 * that writes only some of them adds its own WHERE on `e.run_id`.
 */
export const INSERT_EVENT_BATCHES = `INSERT INTO keel_event_batches
      (run_id, first_seq, types, at, schema_version, payloads, payload_hashes, prev_hash, hashes, lease_token)
    SELECT run_id, first_seq, string_to_array(types, ' '), at::timestamptz, schema_version, payloads,
           decode(payload_hashes, 'hex'), decode(prev_hash, 'hex'), decode(hashes, 'hex'), lease_token
      FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[],
                  $9::text[], $10::bigint[])
        AS e(run_id, first_seq, types, at, schema_version, payloads, payload_hashes, prev_hash, hashes, lease_token)`;

/**
 * Write a batch in one statement (one round trip): advance each run's projection, insert the events with one
 * multi-row INSERT and queue them for the audit log's sequencer, which numbers them after commit, and notify listeners of the
 * runs that moved (when another store listens) — the notifications are delivered at COMMIT, so other processes wake only for events they can
 * already read.
 */
async function writeBatch(
  tx: SqlClient,
  written: ReadonlyArray<[string, RunHead]>,
  placed: readonly PlacedEvent[],
  notifyAs: string,
): Promise<void> {
  if (placed.length === 0) return;
  const columns = batchColumns(placed);
  const [one] = written;
  if (written.length === 1 && columns[0]!.length === 1 && one) {
    await writeOne(tx, one[1], columns, notifyAs);
    return;
  }
  // Arrays keep the parameter count fixed however many rows the batch holds.
  await tx.query(
    `WITH runs AS (
       UPDATE keel_runs AS r
          SET status = v.status, last_seq = v.last_seq, last_hash = v.last_hash, answer = v.answer,
              error = v.error::jsonb, updated_at = ${UPDATED_AT_UNLESS_STILL_RUNNING},
              -- A durable timer runs only while the run is suspended; the run-suspend that starts one sets it.
              -- A wait on children whose count the store has already passed is due at once.
              wake_at = CASE WHEN v.status <> 'suspended' THEN NULL
                             WHEN v.sets_wake AND v.awaited IS NOT NULL AND r.children_ended > v.awaited
                               THEN clock_timestamp()
                             WHEN v.sets_wake THEN v.wake_at::timestamptz ELSE r.wake_at END,
              children_awaited = CASE WHEN v.status <> 'suspended' THEN NULL
                                      WHEN v.sets_wake THEN v.awaited ELSE r.children_awaited END
         FROM unnest($11::text[], $12::text[], $13::int[], $14::text[], $15::text[], $16::text[], $18::boolean[],
                     $19::text[], $20::int[])
           AS v(run_id, status, last_seq, last_hash, answer, error, sets_wake, wake_at, awaited)
        WHERE r.run_id = v.run_id
        RETURNING r.run_id
     ), events AS (
       ${INSERT_EVENT_BATCHES}
     ), pending AS (
       ${QUEUE_FOR_NUMBERING}
     )
     SELECT keel_notify('keel_events', run_id, $17) FROM runs`,
    [
      ...columns,
      written.map(([runId]) => runId),
      written.map(([, head]) => head.status),
      written.map(([, head]) => head.lastSeq),
      written.map(([, head]) => head.lastHash),
      written.map(([, head]) => head.answer),
      written.map(([, head]) => head.error),
      notifyAs,
      written.map(([, head]) => head.wake !== undefined),
      written.map(([, head]) => head.wake ?? null),
      written.map(([, head]) => head.awaited ?? null),
    ],
    { prepared: "keel_write_batch" },
  );
}

/**
 * The events of a one-run statement (`runs` holds the run it advanced, or none): one batch row from the scalar
 * parameters $2–$10, in `batchColumns`' order, queued for the audit log's sequencer. Ends a `WITH` list.
 */
export const WRITE_ONE_BATCH = `inserted AS (
    INSERT INTO keel_event_batches
      (run_id, first_seq, types, at, schema_version, payloads, payload_hashes, prev_hash, hashes, lease_token)
    SELECT run_id, $2, string_to_array($3, ' '), $4::timestamptz, $5, $6, decode($7, 'hex'), decode($8, 'hex'),
           decode($9, 'hex'), $10
      FROM runs
  ), pending AS (
    INSERT INTO keel_audit_pending (run_id, first_seq, count)
    SELECT run_id, $2, cardinality(string_to_array($3, ' ')) FROM runs
  )`;

/**
 * `writeBatch` for one run whose events make one batch row, the common case of a locking commit (a decision, a
 * suspend, a child's end): the same writes with each value a scalar parameter, so neither the driver nor the server
 * builds and unnests arrays. The run's row is locked in this transaction, so the UPDATE always finds it.
 */
export const WRITE_ONE_SQL = `WITH runs AS (
    UPDATE keel_runs AS r
       SET status = $11, last_seq = $12, last_hash = $13, answer = $14, error = $15::jsonb,
           updated_at = CASE WHEN r.status = 'running' AND $11 = 'running' THEN r.updated_at ELSE clock_timestamp() END,
           wake_at = CASE WHEN $11 <> 'suspended' THEN NULL
                          WHEN $17 AND $19::int IS NOT NULL AND r.children_ended > $19::int THEN clock_timestamp()
                          WHEN $17 THEN $18::timestamptz ELSE r.wake_at END,
           children_awaited = CASE WHEN $11 <> 'suspended' THEN NULL
                                   WHEN $17 THEN $19::int ELSE r.children_awaited END
     WHERE r.run_id = $1
     RETURNING r.run_id
  ), ${WRITE_ONE_BATCH}
  SELECT keel_notify('keel_events', run_id, $16) FROM runs`;

async function writeOne(tx: SqlClient, head: RunHead, columns: unknown[][], notifyAs: string): Promise<void> {
  await tx.query(
    WRITE_ONE_SQL,
    [
      ...columns.map((column) => column[0]),
      head.status,
      head.lastSeq,
      head.lastHash,
      head.answer,
      head.error,
      notifyAs,
      head.wake !== undefined,
      head.wake ?? null,
      head.awaited ?? null,
    ],
    { prepared: "keel_write_one" },
  );
}

/**
 * Placed events as the ten column arrays `INSERT_EVENT_BATCHES` takes, one element per batch: a run's consecutive
 * events that share their time and schema version (in practice one batch per run per append). In order: run id,
 * first seq, the types joined by spaces, at, schema version, the payloads as one JSON array of their canonical
 * texts, the payload hashes and hashes concatenated (hex), the first event's prev hash, and the lease token.
 */
export function batchColumns(placed: readonly PlacedEvent[]): unknown[][] {
  const columns: unknown[][] = [[], [], [], [], [], [], [], [], [], []];
  let index = 0;
  while (index < placed.length) {
    const first = placed[index]!;
    let end = index + 1;
    while (end < placed.length && continuesBatch(placed[end - 1]!, placed[end]!)) end += 1;
    const batch = placed.slice(index, end);
    columns[0]!.push(first.event.runId);
    columns[1]!.push(first.event.seq);
    columns[2]!.push(batch.map(({ event }) => event.type).join(" "));
    columns[3]!.push(first.event.at);
    columns[4]!.push(first.event.schemaVersion);
    columns[5]!.push(`[${batch.map(({ payloadJson }) => payloadJson).join(",")}]`);
    columns[6]!.push(batch.map(({ event }) => event.payloadHash).join(""));
    columns[7]!.push(first.event.prevHash);
    columns[8]!.push(batch.map(({ event }) => event.hash).join(""));
    columns[9]!.push(first.leaseToken);
    index = end;
  }
  return columns;
}

/** Whether `next` goes in the same batch row as `previous`: the same run, the next seq, time, version and lease. */
function continuesBatch(previous: PlacedEvent, next: PlacedEvent): boolean {
  return (
    next.event.runId === previous.event.runId &&
    next.event.seq === previous.event.seq + 1 &&
    next.event.at === previous.event.at &&
    next.event.schemaVersion === previous.event.schemaVersion &&
    next.leaseToken === previous.leaseToken
  );
}
