import { commitAppends, HEAD_COLUMNS, type HeadRow, type RunHead } from "./commit-appends.ts";
import { type EventRow, type LeaseRow, toJournalEvent, toLease } from "./run-rows.ts";
import type { JournalTransactionOptions, JournalTransactionResult } from "./store.ts";
import type { StoreDriver } from "./store-driver.ts";
import { openEvents, sealEvents } from "./subject-keys.ts";
import { validateNewEvents } from "./validate-new-events.ts";

/**
 * One transaction that takes a run's lease (only when no live lease exists), reads its journal, appends what
 * `decide` makes of it with the same fencing and projections as any append, and optionally releases the lease:
 * a decision made outside any worker (an approval) is fenced like a worker and costs one commit. Returns null
 * when the run has a live lease or has ended; else the outcome and the run's head as this commit left it.
 */
export async function journalTransaction<T>(
  driver: StoreDriver,
  options: JournalTransactionOptions<T>,
  notifyAs: string,
): Promise<{ outcome: JournalTransactionResult<T>; head: RunHead | undefined; parentless: boolean } | null> {
  return await driver.transaction(async (tx) => {
    // One statement takes the lease and reads the journal: the run row stays locked to COMMIT and comes back with
    // its head on every row (so the append below need not read it again), beside the run's events in order.
    const { rows } = await tx.query<LeaseRow & HeadRow & JoinedEventRow & { has_parent: boolean }>(
      `WITH taken AS (
         UPDATE keel_runs
            SET lease_owner = $2, lease_token = lease_token + 1,
                lease_expires_at = clock_timestamp() + $3::float8 * interval '1 millisecond'
          WHERE run_id = $1 AND status IN ('queued', 'running', 'suspended')
            AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at <= clock_timestamp())
          RETURNING ${HEAD_COLUMNS}, lease_expires_at, subject_key_id, parent_run_id IS NOT NULL AS has_parent
       )
       SELECT taken.*, ${JOINED_EVENT_COLUMNS}
         FROM taken LEFT JOIN keel_events e ON e.run_id = taken.run_id
        ORDER BY e.seq`,
      [options.runId, options.owner, options.ttlMs],
      { prepared: "keel_take_lease_read_journal" },
    );
    const head = rows[0];
    if (!head) return null;
    const lease = toLease(head);
    const read = rows.flatMap((row) => (row.event_seq === null ? [] : [toJournalEvent(eventOf(row))]));
    // A run with a data subject: its sealed fields are opened for `decide`, and what it appends is sealed.
    const journal = lease.sealWith ? await openEvents(tx, read) : read;
    const decided = options.decide(journal);
    const validated = validateNewEvents(decided.events);
    const events = lease.sealWith ? await sealEvents(tx, lease.sealWith, validated) : validated;
    const { outcomes, heads } = await commitAppends(
      tx,
      [{ lease, events }],
      new Date().toISOString(),
      [head],
      notifyAs,
    );
    const outcome = outcomes[0]!;
    if (!outcome.ok) throw outcome.error;
    const release = typeof options.release === "function" ? options.release(decided.result) : options.release;
    if (release) {
      await tx.query(
        `WITH released AS (
           UPDATE keel_runs SET lease_owner = NULL, lease_expires_at = NULL
            WHERE run_id = $1 AND lease_token = $2
            RETURNING run_id, status
         )
         SELECT keel_notify('keel_work', run_id, $3) FROM released WHERE status IN ('queued', 'running')`,
        [lease.runId, lease.token, notifyAs],
      );
    }
    const written = heads.get(lease.runId);
    return {
      outcome: { lease, journal, written: outcome.events, result: decided.result, released: release },
      head: written?.changed ? written : undefined,
      parentless: !head.has_parent,
    };
  });
}

/**
 * The event columns of the lease-and-journal statement, renamed apart from the run row's, read as `EVENT_COLUMNS`
 * reads them: the payload's JSON text as json, the hashes' bytes as hex.
 */
const JOINED_EVENT_COLUMNS = `e.seq AS event_seq, e.type AS event_type, e.at AS event_at,
  e.payload::json AS event_payload, e.schema_version AS event_schema_version,
  encode(e.payload_hash, 'hex') AS event_payload_hash, encode(e.prev_hash, 'hex') AS event_prev_hash,
  encode(e.hash, 'hex') AS event_hash`;

/** One event as `JOINED_EVENT_COLUMNS` selects it; all null for a run with no events. */
type JoinedEventRow = {
  event_seq: number | null;
  event_type: string;
  event_at: Date;
  event_payload: unknown;
  event_schema_version: number;
  event_payload_hash: string;
  event_prev_hash: string;
  event_hash: string;
};

function eventOf(row: HeadRow & JoinedEventRow): EventRow {
  return {
    run_id: row.run_id,
    seq: row.event_seq!,
    type: row.event_type,
    at: row.event_at,
    payload: row.event_payload,
    schema_version: row.event_schema_version,
    payload_hash: row.event_payload_hash,
    prev_hash: row.event_prev_hash,
    hash: row.event_hash,
  };
}
