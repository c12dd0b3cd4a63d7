import type { SignedVerification, Verification } from "../journal/index.ts";
import type { StoredFrontier } from "./audit-log-queries.ts";
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

/** How many stored events have a leaf index in `[0, size)`. */
export async function countLeavesBelow(sql: SqlClient, size: number): Promise<number> {
  const { rows } = await sql.query<{ count: string | number }>(
    "SELECT count(*) AS count FROM keel_events WHERE leaf_index >= 0 AND leaf_index < $1",
    [size],
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
    // A bounded range of the leaf index, then primary-key look-ups (the leaf of each is checked here, as a
    // condition on it in the join is planned as a walk of the leaf index). A "last event below leaf N" subquery per run
    // was planned as a walk of the leaf index (16–23 s for 400 runs over a million events), and an open range
    // (leaf_index >= N) as a scan of the whole table wherever statistics are missing, as on PGlite.
    `SELECT r.run_id, r.last_seq, r.last_hash, e.seq, e.hash, e.leaf_index::float8 AS leaf_index
       FROM (SELECT run_id, min(seq) AS first_seq FROM keel_events
              WHERE leaf_index >= $1 AND leaf_index < $2 GROUP BY run_id) AS n
       JOIN keel_runs AS r ON r.run_id = n.run_id
       LEFT JOIN keel_events AS e
         ON e.run_id = n.run_id AND e.seq = n.first_seq - 1`,
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
