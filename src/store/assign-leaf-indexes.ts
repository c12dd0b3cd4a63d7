import type { SqlClient } from "./store.ts";

/** Events numbered per transaction: a bound keeps one pass's locks and WAL modest after a long quiet spell. */
const ASSIGN_BATCH = 10_000;

/**
 * The audit log's sequencer: give every committed event that has no leaf index yet the next ones, in commit-marker
 * order, and advance the log's size to match; returns how many it numbered. Appends never touch the log's row, so
 * they never wait for one another here; this runs beside them, before a checkpoint, a proof or a verify reads the
 * leaves, and any number of processes may call it (the log row's lock makes them take turns).
 *
 * Why this keeps the log gapless and in commit order (migration 0012): a pass sees only committed rows and numbers
 * them from the size it holds locked, so an index is given once, to a row that exists, and the numbered prefix only
 * grows; a row that commits after a pass read the queue is numbered by a later pass, after everything that pass saw.
 */
export async function assignLeafIndexes(sql: SqlClient): Promise<number> {
  let assigned = 0;
  for (;;) {
    // A cheap look first, so an idle log costs a read, not a write.
    const { rows: waiting } = await sql.query<{ waiting: boolean }>(
      "SELECT EXISTS (SELECT 1 FROM keel_events WHERE leaf_index IS NULL) AS waiting",
    );
    if (!waiting[0]?.waiting) return assigned;
    const count = await sql.transaction(async (tx) => {
      const { rows } = await tx.query<{ size: number | string }>(
        "SELECT size FROM keel_audit_log FOR UPDATE",
      );
      const size = Number(rows[0]!.size);
      // A statement of its own after the lock, so its snapshot holds every number the previous holder gave.
      const { rows: numbered } = await tx.query<{ count: number | string }>(
        `WITH queue AS (
           SELECT run_id, seq, row_number() OVER (ORDER BY commit_marker, run_id, seq) - 1 AS place
             FROM keel_events WHERE leaf_index IS NULL
            ORDER BY commit_marker, run_id, seq
            LIMIT $2
         ), numbered AS (
           UPDATE keel_events AS e SET leaf_index = $1::bigint + q.place
             FROM queue AS q WHERE e.run_id = q.run_id AND e.seq = q.seq
           RETURNING 1
         ), counted AS (
           UPDATE keel_audit_log SET size = size + (SELECT count(*) FROM numbered) RETURNING size
         )
         SELECT (SELECT count(*) FROM numbered) AS count FROM counted`,
        [size, ASSIGN_BATCH],
      );
      return Number(numbered[0]?.count ?? 0);
    });
    assigned += count;
    if (count < ASSIGN_BATCH) return assigned;
  }
}
