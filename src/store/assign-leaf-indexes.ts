import type { SqlClient } from "./store.ts";

/** Queued commits numbered per transaction: a bound keeps one pass's locks and WAL modest after a long quiet spell. */
const ASSIGN_BATCH = 10_000;

/**
 * The audit log's sequencer: give every committed append still queued in `keel_audit_pending` the next leaves, in
 * commit-marker order, as ranges in `keel_audit_ranges`, and advance the log's size to match; returns how many
 * leaves it numbered. The event rows are never rewritten (migration 0020): a leaf's index is its range's first leaf
 * plus its seq's distance from the range's first seq. Appends never touch the log's row, so they never wait for one
 * another here; this runs beside them, before a checkpoint, a proof or a verify reads the leaves, and any number of
 * processes may call it (the log row's lock makes them take turns).
 *
 * Why this keeps the log gapless and in commit order (migrations 0012 and 0020): a pass sees only committed appends
 * and numbers them from the size it holds locked, so an index is given once, to an event that exists, and the
 * numbered prefix only grows; an append that commits after a pass read the queue is numbered by a later pass, after
 * everything that pass saw. Consecutive queued appends of one run that land on consecutive leaves share one range.
 */
export async function assignLeafIndexes(sql: SqlClient): Promise<number> {
  let assigned = 0;
  for (;;) {
    // A cheap look first, so an idle log costs a read, not a write.
    const { rows: waiting } = await sql.query<{ waiting: boolean }>(
      "SELECT EXISTS (SELECT 1 FROM keel_audit_pending) AS waiting",
      [],
      { prepared: "keel_audit_waiting" },
    );
    if (!waiting[0]?.waiting) return assigned;
    const { appends, leaves } = await sql.transaction(async (tx) => {
      const { rows } = await tx.query<{ size: number | string }>(
        "SELECT size FROM keel_audit_log FOR UPDATE",
        [],
        { prepared: "keel_lock_audit_size" },
      );
      const size = Number(rows[0]!.size);
      // A statement of its own after the lock, so its snapshot holds every number the previous holder gave.
      // `place` is each queued append's first leaf counted from `size`; appends of one run whose leaves and seqs
      // advance together (nothing of another run between them) keep the same `place - first_seq` and become one range.
      const { rows: numbered } = await tx.query<{ appends: number | string; leaves: number | string }>(
        `WITH queue AS (
           SELECT commit_marker, run_id, first_seq, count,
                  sum(count) OVER (ORDER BY commit_marker, run_id, first_seq) - count AS place
             FROM keel_audit_pending
            ORDER BY commit_marker, run_id, first_seq
            LIMIT $2
         ), taken AS (
           DELETE FROM keel_audit_pending AS p USING queue AS q
            WHERE p.commit_marker = q.commit_marker AND p.run_id = q.run_id AND p.first_seq = q.first_seq
           RETURNING p.count
         ), ranges AS (
           INSERT INTO keel_audit_ranges (first_leaf, run_id, first_seq, count)
           SELECT $1::bigint + min(place), run_id, min(first_seq), sum(count)::integer
             FROM queue GROUP BY run_id, place - first_seq
         ), counted AS (
           UPDATE keel_audit_log SET size = size + (SELECT coalesce(sum(count), 0) FROM queue) RETURNING size
         )
         SELECT (SELECT count(*) FROM taken) AS appends, (SELECT coalesce(sum(count), 0) FROM queue) AS leaves
           FROM counted`,
        [size, ASSIGN_BATCH],
        { prepared: "keel_assign_leaf_indexes" },
      );
      return { appends: Number(numbered[0]?.appends ?? 0), leaves: Number(numbered[0]?.leaves ?? 0) };
    });
    assigned += leaves;
    if (appends < ASSIGN_BATCH) return assigned;
  }
}
