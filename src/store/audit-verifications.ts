import type { SignedVerification, Verification } from "../journal/index.ts";
import type { StoredFrontier } from "./audit-log-queries.ts";
import { batchesFrom, COUNT_EVENTS } from "./run-rows.ts";
import type { SqlClient } from "./store.ts";

/** Every stored verification record, exactly as stored (whether each is genuine is the verifier's question). */
export async function readVerificationRecords(sql: SqlClient): Promise<SignedVerification[]> {
  const { rows } = await sql.query<{ body: string; signature: string }>(
    "SELECT body, signature FROM keel_audit_verifications ORDER BY tree_size, id",
  );
  return rows.map((row) => ({ body: row.body, signature: row.signature }));
}

/** Keep a signed verification record. */
export async function insertVerificationRecord(sql: SqlClient, record: Verification): Promise<void> {
  await sql.query("INSERT INTO keel_audit_verifications (tree_size, body, signature) VALUES ($1, $2, $3)", [
    record.treeSize,
    record.body,
    record.signature,
  ]);
}

/** The frontier the checkpointer stored beside the checkpoint of `treeSize` (a cache), or null. */
export async function readFrontierAt(sql: SqlClient, treeSize: number): Promise<StoredFrontier | null> {
  const { rows } = await sql.query<{ frontier: StoredFrontier }>(
    "SELECT frontier FROM keel_audit_checkpoints WHERE tree_size = $1",
    [treeSize],
  );
  return rows[0]?.frontier ?? null;
}

/**
 * How many stored events are not at leaf `size` or after it, nor queued for numbering: the leaves below `size` when
 * every stored event is a leaf or queued (which a full verify checks). Counted as all events less the few after
 * `size` and the queued ones, not range by range: a range can hold a single event, and a primary-key look-up per
 * range cost PGlite several times a scan of the table.
 */
export async function countLeavesBelow(sql: SqlClient, size: number): Promise<number> {
  const { rows } = await sql.query<{ count: string | number }>(
    `SELECT ${COUNT_EVENTS}
          - (SELECT coalesce(sum(count), 0) FROM keel_audit_pending)
          - (SELECT coalesce(sum(n.count), 0) FROM keel_audit_ranges AS l
               CROSS JOIN LATERAL (
                 SELECT count(*) AS count FROM keel_events AS e
                  WHERE e.run_id = l.run_id AND e.seq >= l.first_seq + greatest(0, $1 - l.first_leaf)
                    AND e.seq < l.first_seq + l.count
                    AND ${batchesFrom("e", "l.run_id", "l.first_seq + greatest(0, $1 - l.first_leaf)")}
                    AND e.batch_first_seq < l.first_seq + l.count
               ) AS n
              WHERE l.first_leaf >= coalesce((SELECT max(first_leaf) FROM keel_audit_ranges WHERE first_leaf <= $1), $1)
                AND l.first_leaf <= $2) AS count`,
    [size, Number.MAX_SAFE_INTEGER],
  );
  return Number(rows[0]?.count ?? 0);
}

/**
 * For every run with an event in leaves `[from, to)`: its head as its row records it, and the event its chain
 * continues from, the one before its first such event (within a run leaf order is seq order) when that one is
 * below leaf `from`. A run whose chain does not continue from there gets no entry, and the verifier reports its
 * first event out of place; so do leaves outside `[0, to)`, which no append writes.
 */
export async function readRunsAfter(
  sql: SqlClient,
  from: number,
  to: number,
): Promise<{
  heads: Map<string, { lastSeq: number; lastHash: string }>;
  before: Map<string, { seq: number; hash: string }>;
}> {
  const { rows } = await sql.query<{
    run_id: string;
    last_seq: number;
    last_hash: string;
    seq: number | null;
    hash: string | null;
    leaf_index: number | null;
  }>(
    // The ranges holding leaves [from, to) (as readLeaves picks them), each run's first seq among those leaves, then
    // primary-key look-ups: the event before it, and the range that numbered that one. An open range of the first
    // leaf would be planned as a scan of the whole table wherever statistics are missing, as on PGlite.
    `WITH n AS (
       SELECT l.run_id, min(l.first_seq + greatest(0, $1 - l.first_leaf)) AS first_seq
         FROM keel_audit_ranges AS l
        WHERE l.first_leaf >= coalesce((SELECT max(first_leaf) FROM keel_audit_ranges WHERE first_leaf <= $1), $1)
          AND l.first_leaf < $2 AND l.first_leaf + l.count > $1
        GROUP BY l.run_id
     )
     SELECT r.run_id, r.last_seq, r.last_hash, e.seq, encode(e.hash, 'hex') AS hash,
            (SELECT p.first_leaf + (e.seq - p.first_seq) FROM keel_audit_ranges AS p
              WHERE p.run_id = e.run_id AND p.first_seq <= e.seq AND e.seq < p.first_seq + p.count
              ORDER BY p.first_seq DESC LIMIT 1)::float8 AS leaf_index
       FROM n
       JOIN keel_runs AS r ON r.run_id = n.run_id
       LEFT JOIN keel_events AS e
         ON e.run_id = n.run_id AND e.seq = n.first_seq - 1
        AND ${batchesFrom("e", "n.run_id", "n.first_seq - 1")} AND e.batch_first_seq < n.first_seq`,
    [from, to],
  );
  const heads = new Map<string, { lastSeq: number; lastHash: string }>();
  const before = new Map<string, { seq: number; hash: string }>();
  for (const row of rows) {
    heads.set(row.run_id, { lastSeq: Number(row.last_seq), lastHash: row.last_hash });
    const leaf = row.leaf_index === null ? -1 : Number(row.leaf_index);
    if (row.seq !== null && row.hash !== null && leaf >= 0 && leaf < from)
      before.set(row.run_id, { seq: Number(row.seq), hash: row.hash });
  }
  return { heads, before };
}
