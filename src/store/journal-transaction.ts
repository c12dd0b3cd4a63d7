import { commitAppends, HEAD_COLUMNS, type HeadRow } from "./commit-appends.ts";
import { EVENT_COLUMNS, type EventRow, type LeaseRow, toJournalEvent, toLease } from "./run-rows.ts";
import type { JournalTransactionOptions, JournalTransactionResult } from "./store.ts";
import type { StoreDriver } from "./store-driver.ts";
import { validateNewEvents } from "./validate-new-events.ts";

/**
 * One transaction that takes a run's lease (only when no live lease exists), reads its journal, appends what
 * `decide` makes of it with the same fencing and projections as any append, and optionally releases the lease:
 * a decision made outside any worker (an approval) is fenced like a worker and costs one commit. Returns null
 * when the run has a live lease or has ended.
 */
export async function journalTransaction<T>(
  driver: StoreDriver,
  options: JournalTransactionOptions<T>,
  notifyAs: string,
): Promise<JournalTransactionResult<T> | null> {
  return await driver.transaction(async (tx) => {
    // The row stays locked to COMMIT and comes back with its head, so the append below need not read it again.
    const taken = await tx.query<LeaseRow & HeadRow>(
      `UPDATE keel_runs
          SET lease_owner = $2, lease_token = lease_token + 1,
              lease_expires_at = clock_timestamp() + $3::float8 * interval '1 millisecond'
        WHERE run_id = $1 AND status IN ('queued', 'running', 'suspended')
          AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at <= clock_timestamp())
        RETURNING ${HEAD_COLUMNS}, lease_expires_at`,
      [options.runId, options.owner, options.ttlMs],
    );
    if (!taken.rows[0]) return null;
    const lease = toLease(taken.rows[0]);
    const { rows } = await tx.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM keel_events WHERE run_id = $1 ORDER BY seq`,
      [options.runId],
    );
    const journal = rows.map(toJournalEvent);
    const decided = options.decide(journal);
    const events = validateNewEvents(decided.events);
    const { outcomes } = await commitAppends(
      tx,
      [{ lease, events }],
      new Date().toISOString(),
      taken.rows,
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
    return { lease, journal, written: outcome.events, result: decided.result, released: release };
  });
}
