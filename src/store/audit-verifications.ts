import type { SignedVerification, Verification } from "../journal/audit/verification-record.ts";
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
 * For every run with an event at leaf `size` or later (or at a negative index, which no append writes): its
 * head as its row records it, and its last event before leaf `size`, where its chain continues from.
 */
export async function readRunsAfter(
  sql: SqlClient,
  size: number,
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
  }>(
    `SELECT r.run_id, r.last_seq, r.last_hash, h.seq, h.hash
       FROM (SELECT DISTINCT run_id FROM keel_events WHERE leaf_index >= $1 OR leaf_index < 0) AS n
       JOIN keel_runs AS r ON r.run_id = n.run_id
       LEFT JOIN LATERAL (
         SELECT seq, hash FROM keel_events AS e
          WHERE e.run_id = r.run_id AND e.leaf_index >= 0 AND e.leaf_index < $1
          ORDER BY e.seq DESC LIMIT 1) AS h ON true`,
    [size],
  );
  const heads = new Map<string, { lastSeq: number; lastHash: string }>();
  const before = new Map<string, { seq: number; hash: string }>();
  for (const row of rows) {
    heads.set(row.run_id, { lastSeq: Number(row.last_seq), lastHash: row.last_hash });
    if (row.seq !== null && row.hash !== null)
      before.set(row.run_id, { seq: Number(row.seq), hash: row.hash });
  }
  return { heads, before };
}
