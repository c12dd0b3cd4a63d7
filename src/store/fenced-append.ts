import { firstFencedEvent, type JournalEvent } from "../journal/index.ts";
import {
  type AppendRequest,
  batchColumns,
  INSERT_EVENT_BATCHES,
  type PlacedEvent,
  placeRequest,
  QUEUE_FOR_NUMBERING,
  type RunHead,
  UPDATED_AT_UNLESS_STILL_RUNNING,
  WRITE_ONE_BATCH,
} from "./commit-appends.ts";
import type { SqlClient } from "./store.ts";

/**
 * A run's head as this store last wrote or read it: what the fenced statement expects to find. Only a hint —
 * the statement checks it against the row, so a stale one costs a fallback, never a wrong write.
 */
export type KnownHead = Pick<RunHead, "status" | "lastSeq" | "lastHash" | "answer" | "error"> & {
  /**
   * The run has no parent, so its `run-end` touches only its own row and may go in the fenced statement (a child's
   * end also counts against its parent: the locking transaction does that). False when not known.
   */
  parentless: boolean;
};

/** One request for the fenced statement, with the head its events are placed after. */
export type FencedRequest = { request: AppendRequest; head: KnownHead };

/** The fenced statement: exported so a test can tell it from every other statement a step sends. */
export const FENCED_APPEND_SQL = `WITH locked AS (
    -- Rows locked in run_id order, as the locking transaction takes them, so the two cannot deadlock.
    SELECT run_id FROM keel_runs WHERE run_id = ANY($11::text[]) ORDER BY run_id FOR UPDATE
  ), runs AS (
    UPDATE keel_runs AS r
       SET status = v.status, last_seq = v.last_seq, last_hash = v.last_hash, answer = v.answer,
           error = v.error::jsonb, updated_at = ${UPDATED_AT_UNLESS_STILL_RUNNING}
      FROM unnest($11::text[], $12::text[], $13::int[], $14::text[], $15::text[], $16::text[], $17::bigint[],
                  $18::int[], $19::text[], $20::text[], $22::boolean[], $23::boolean[])
        AS v(run_id, status, last_seq, last_hash, answer, error, lease_token, expected_seq, expected_hash,
             expected_status, starts_work, ends)
     -- An uncorrelated subquery runs once, before the first row is updated: every lock is taken first.
     WHERE (SELECT count(*) FROM locked) >= 0
       AND r.run_id = v.run_id AND r.lease_owner IS NOT NULL AND r.lease_token = v.lease_token
       AND r.last_seq = v.expected_seq AND r.last_hash = v.expected_hash AND r.status = v.expected_status
       -- The cancel fence: a request that starts work is not written once the run's cancel was requested.
       AND NOT (r.cancel_requested AND v.starts_work)
       -- A child run's end also counts against its parent: only the locking transaction writes that.
       AND NOT (r.parent_run_id IS NOT NULL AND v.ends)
     RETURNING r.run_id
  ), inserted AS (
    ${INSERT_EVENT_BATCHES}
     WHERE e.run_id IN (SELECT run_id FROM runs)
  ), pending AS (
    -- Only the runs the UPDATE advanced, so each queued row's commit marker is drawn after its run row was locked.
    ${QUEUE_FOR_NUMBERING}
  )
  SELECT run_id, keel_notify('keel_events', run_id, $21) AS notified FROM runs`;

/**
 * The fenced statement for one run, the one-run-at-a-time case: the same checks and writes as `FENCED_APPEND_SQL`,
 * with each value a scalar parameter instead of an array element, so neither the driver (array literals with every
 * quote in the payloads escaped) nor the server (unnest) handles arrays, and without the separate ordered lock, which
 * only orders the locks of several runs: the UPDATE takes the one row's lock itself.
 */
export const FENCED_APPEND_ONE_SQL = `WITH runs AS (
    UPDATE keel_runs AS r
       SET status = $11, last_seq = $12, last_hash = $13, answer = $14, error = $15::jsonb,
           updated_at = CASE WHEN r.status = 'running' AND $11 = 'running' THEN r.updated_at ELSE clock_timestamp() END
     WHERE r.run_id = $1 AND r.lease_owner IS NOT NULL AND r.lease_token = $10
       AND r.last_seq = $16 AND r.last_hash = $17 AND r.status = $18
       -- The cancel fence: a request that starts work is not written once the run's cancel was requested.
       AND NOT (r.cancel_requested AND $20)
       -- A child run's end also counts against its parent: only the locking transaction writes that.
       AND NOT (r.parent_run_id IS NOT NULL AND $21)
     RETURNING r.run_id
  ), ${WRITE_ONE_BATCH}
  SELECT run_id, keel_notify('keel_events', run_id, $19) AS notified FROM runs`;

/** What became of one fenced request: written (with the run's new head), or left for the locking transaction. */
export type FencedOutcome = { events: JournalEvent[]; head: KnownHead } | null;

/**
 * The lease holder's common case in one round trip and one commit: a single statement in autocommit that
 * advances each run row only where the lease token is still current and the head is still the one the events
 * were hashed after, inserts the events of exactly the runs it advanced and queues them for the audit log's
 * sequencer (which numbers them after commit), and notifies other listeners (`keel_notify`, migration 0013).
 * Every check the locking transaction makes in JavaScript is made here by the row's own WHERE, under the row
 * lock the UPDATE takes (a concurrent grant or append makes PostgreSQL re-check it against the newer row), so a
 * request either goes in whole or is not written at all and comes back null for the locking transaction, which
 * rejects a stale lease exactly as before. The cancel fence is one of those checks: a request that starts work
 * it leaves open (`firstFencedEvent`) is not written to a run whose cancel was requested, and the transaction refuses it as `cancelled`.
 */
export async function appendFenced(
  sql: SqlClient,
  items: readonly FencedRequest[],
  at: string,
  notifyAs: string,
): Promise<FencedOutcome[]> {
  const outcomes: FencedOutcome[] = items.map(() => null);
  const placed: {
    index: number;
    runId: string;
    head: RunHead;
    expected: KnownHead;
    events: PlacedEvent[];
  }[] = [];
  for (const [index, { request, head }] of items.entries()) {
    const next: RunHead = {
      ...head,
      leaseOwner: request.lease.owner,
      leaseToken: request.lease.token,
      // Checked by the statement against the row itself, under its lock; a refusal falls back to the locking
      // transaction, which reports it.
      cancelRequested: false,
      changed: false,
    };
    const outcome = placeRequest(request, next, at);
    // A request the known head already refuses is left to the locking transaction, which refuses it with
    // the row's own state as evidence.
    if (!outcome.ok || !next.changed) continue;
    placed.push({
      index,
      runId: request.lease.runId,
      head: next,
      expected: head,
      events: outcome.placed,
    });
  }
  if (placed.length === 0) return outcomes;
  const events = placed.flatMap((entry) => entry.events);
  const columns = batchColumns(events);
  const { rows } =
    placed.length === 1 && columns[0]!.length === 1
      ? await sql.query<{ run_id: string }>(
          FENCED_APPEND_ONE_SQL,
          [
            ...columns.map((column) => column[0]),
            ...headParameters(placed[0]!),
            notifyAs,
            startsWork(placed[0]!.events),
            ends(placed[0]!.events),
          ],
          { prepared: "keel_fenced_append_one" },
        )
      : await sql.query<{ run_id: string }>(
          FENCED_APPEND_SQL,
          [
            ...columns,
            placed.map((entry) => entry.runId),
            placed.map((entry) => entry.head.status),
            placed.map((entry) => entry.head.lastSeq),
            placed.map((entry) => entry.head.lastHash),
            placed.map((entry) => entry.head.answer),
            placed.map((entry) => entry.head.error),
            placed.map((entry) => entry.head.leaseToken),
            placed.map((entry) => entry.expected.lastSeq),
            placed.map((entry) => entry.expected.lastHash),
            placed.map((entry) => entry.expected.status),
            notifyAs,
            placed.map((entry) => startsWork(entry.events)),
            placed.map((entry) => ends(entry.events)),
          ],
          { prepared: "keel_fenced_append" },
        );
  const written = new Set(rows.map((row) => row.run_id));
  for (const entry of placed) {
    if (!written.has(entry.runId)) continue;
    const { status, lastSeq, lastHash, answer, error } = entry.head;
    outcomes[entry.index] = {
      events: entry.events.map(({ event }) => event),
      head: { status, lastSeq, lastHash, answer, error, parentless: entry.expected.parentless },
    };
  }
  return outcomes;
}

/** $11–$18 of `FENCED_APPEND_ONE_SQL`: the run's new head, then the head its events were placed after. */
function headParameters(entry: { head: RunHead; expected: KnownHead }): unknown[] {
  const { head, expected } = entry;
  return [
    head.status,
    head.lastSeq,
    head.lastHash,
    head.answer,
    head.error,
    expected.lastSeq,
    expected.lastHash,
    expected.status,
  ];
}

/** Whether a request leaves work open, so the cancel fence refuses it (`firstFencedEvent`). */
function startsWork(events: readonly PlacedEvent[]): boolean {
  return firstFencedEvent(events.map(({ event }) => event)) >= 0;
}

/** Whether a request ends its run. */
function ends(events: readonly PlacedEvent[]): boolean {
  return events.some(({ event }) => event.type === "run-end");
}
