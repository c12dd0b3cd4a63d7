import type { SignedCheckpoint, StoredLeafRow } from "../journal/index.ts";
import { assignLeafIndexes } from "./assign-leaf-indexes.ts";
import type { SqlClient } from "./store.ts";

/** Leaves read per query when walking the log: a power of two, so pages line up with subtrees. */
export const LEAF_PAGE_SIZE = 8_192;

/**
 * The columns of a leaf as verification reads them: `at` with microseconds (a sub-millisecond edit shows), the
 * payload as the database's JSON text (parsed where the page is hashed), bigints as float8 (exact below 2^53).
 */
const LEAF_COLUMNS = `leaf_index::float8 AS leaf_index, run_id, seq, type,
  to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, payload::text AS payload,
  schema_version, payload_hash, prev_hash, hash, lease_token::float8 AS lease_token`;

type LeafRow = {
  leaf_index: number;
  run_id: string;
  seq: number;
  type: string;
  at: string;
  payload: string;
  schema_version: number;
  payload_hash: string;
  prev_hash: string;
  hash: string;
  lease_token: number;
};

/**
 * The same columns as one JSON array per leaf, aggregated into one JSON text per query, for PGlite: it copies
 * every field of every row into a fresh buffer, which cost more than the hashing (reading 100,000 leaves took
 * twice as long as this). On PostgreSQL building the JSON costs the server more than the driver saves.
 */
const LEAF_ARRAY = `json_build_array(leaf_index, run_id, seq, type,
  to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), payload::text,
  schema_version, payload_hash, prev_hash, hash, lease_token)`;

type LeafArray = [number, string, number, string, string, string, number, string, string, string, number];

/** The leaves matching `where` (with `params`), ordered by `orderBy`, in the shape cheapest for the driver. */
async function queryLeaves(
  sql: SqlClient,
  where: string,
  orderBy: string,
  params: unknown[],
): Promise<StoredLeafRow[]> {
  if (sql.kind !== "pglite") {
    const { rows } = await sql.query<LeafRow>(
      `SELECT ${LEAF_COLUMNS} FROM keel_events WHERE ${where} ORDER BY ${orderBy}`,
      params,
    );
    return rows.map(toStoredLeaf);
  }
  const { rows } = await sql.query<{ leaves: string | null }>(
    `SELECT json_agg(${LEAF_ARRAY} ORDER BY ${orderBy})::text AS leaves FROM keel_events WHERE ${where}`,
    params,
  );
  const leaves = rows[0]?.leaves;
  if (!leaves) return [];
  const arrays = JSON.parse(leaves) as LeafArray[];
  const page: StoredLeafRow[] = new Array<StoredLeafRow>(arrays.length);
  for (let index = 0; index < arrays.length; index++) {
    const row = arrays[index]!;
    page[index] = {
      leafIndex: row[0],
      runId: row[1],
      seq: row[2],
      type: row[3],
      at: row[4],
      payloadJson: row[5],
      schemaVersion: row[6],
      payloadHash: row[7],
      prevHash: row[8],
      hash: row[9],
      leaseToken: row[10],
    };
  }
  return page;
}

function toStoredLeaf(row: LeafRow): StoredLeafRow {
  return {
    leafIndex: Number(row.leaf_index),
    runId: row.run_id,
    seq: Number(row.seq),
    type: row.type,
    at: row.at,
    payloadJson: row.payload,
    schemaVersion: Number(row.schema_version),
    payloadHash: row.payload_hash,
    prevHash: row.prev_hash,
    hash: row.hash,
    leaseToken: Number(row.lease_token),
  };
}

/** The log's id and its size: the leaves the sequencer has numbered (events it has not reached are not counted). */
export async function readAuditHead(sql: SqlClient): Promise<{ logId: string; size: number }> {
  const { rows } = await sql.query<{ log_id: string; size: number | string }>(
    "SELECT log_id, size FROM keel_audit_log",
  );
  const row = rows[0];
  if (!row) return { logId: "", size: 0 };
  return { logId: row.log_id, size: Number(row.size) };
}

/** Leaves with index in `[from, to)`, in order. */
export async function readLeaves(sql: SqlClient, from: number, to: number): Promise<StoredLeafRow[]> {
  return await queryLeaves(sql, "leaf_index >= $1 AND leaf_index < $2", "leaf_index", [from, to]);
}

/** One run's leaves, in seq order: its events the sequencer has numbered. */
export async function readRunLeaves(sql: SqlClient, runId: string): Promise<StoredLeafRow[]> {
  return await queryLeaves(sql, "run_id = $1 AND leaf_index IS NOT NULL", "seq", [runId]);
}

/**
 * Every stored leaf from index `from` on, a page of up to `pageSize` indexes at a time, and then (unless `withExtra` is
 * false) any rows beyond `size`, leaves nobody counted, so a verifier sees exactly what the table holds.
 */
export async function* leafPages(
  sql: SqlClient,
  options: { from?: number; size: number; pageSize?: number; withExtra?: boolean },
): AsyncGenerator<StoredLeafRow[]> {
  const pageSize = options.pageSize ?? LEAF_PAGE_SIZE;
  // The next page is read while the caller hashes this one.
  let next: Promise<StoredLeafRow[]> | null = null;
  // Pages end on multiples of `pageSize`, so that after a short first page (a walk from the middle of the log)
  // every page is a perfect subtree and can be hashed as one.
  const endOf = (start: number) => Math.min((Math.floor(start / pageSize) + 1) * pageSize, options.size);
  for (let from = options.from ?? 0; from < options.size; from = endOf(from)) {
    const page = next ?? readLeaves(sql, from, endOf(from));
    const following = endOf(from);
    next = following < options.size ? readLeaves(sql, following, endOf(following)) : null;
    // Handled here too, so a caller that stops early leaves no unhandled rejection behind.
    next?.catch(() => undefined);
    yield await page;
  }
  if (options.withExtra === false) return;
  // Two closed ranges of the leaf index: an OR, or an open range, is planned as a scan of the whole table
  // wherever statistics are missing (PGlite never analyses on its own).
  const extra = [
    ...(await queryLeaves(sql, "leaf_index >= $1 AND leaf_index < 0", "leaf_index", [
      -Number.MAX_SAFE_INTEGER,
    ])),
    ...(await queryLeaves(sql, "leaf_index >= $1 AND leaf_index <= $2", "leaf_index", [
      options.size,
      Number.MAX_SAFE_INTEGER,
    ])),
  ];
  if (extra.length > 0) yield extra;
}

/** Every checkpoint, smallest tree first. */
export async function readCheckpoints(sql: SqlClient): Promise<SignedCheckpoint[]> {
  const { rows } = await sql.query<{ body: string; signature: string }>(
    "SELECT body, signature FROM keel_audit_checkpoints ORDER BY tree_size",
  );
  return rows.map((row) => ({ body: row.body, signature: row.signature }));
}

/** The newest checkpoint with the frontier stored beside it, or null before the first. */
export async function readLatestCheckpoint(
  sql: SqlClient,
): Promise<(SignedCheckpoint & { treeSize: number; frontier: StoredFrontier }) | null> {
  const { rows } = await sql.query<{
    tree_size: number | string;
    body: string;
    signature: string;
    frontier: StoredFrontier;
  }>(
    "SELECT tree_size, body, signature, frontier FROM keel_audit_checkpoints ORDER BY tree_size DESC LIMIT 1",
  );
  const row = rows[0];
  return row
    ? { treeSize: Number(row.tree_size), body: row.body, signature: row.signature, frontier: row.frontier }
    : null;
}

/** A frontier as stored in JSON: peaks largest first, hashes in hex. */
export type StoredFrontier = { level: number; index: number; hash: string }[];

/** Each run's head as its row records it: the journal's last seq and hash. */
export async function readRunHeads(
  sql: SqlClient,
): Promise<Map<string, { lastSeq: number; lastHash: string }>> {
  const { rows } = await sql.query<{ run_id: string; last_seq: number; last_hash: string }>(
    "SELECT run_id, last_seq, last_hash FROM keel_runs",
  );
  return new Map(rows.map((row) => [row.run_id, { lastSeq: Number(row.last_seq), lastHash: row.last_hash }]));
}

/** The leaf index of one event (numbering it first when the sequencer has not yet), or null when there is no such event. */
export async function leafIndexOf(sql: SqlClient, runId: string, seq: number): Promise<number | null> {
  const read = async () =>
    (
      await sql.query<{ leaf_index: number | null }>(
        "SELECT leaf_index::float8 AS leaf_index FROM keel_events WHERE run_id = $1 AND seq = $2",
        [runId, seq],
      )
    ).rows[0];
  let row = await read();
  if (row && row.leaf_index === null) {
    await assignLeafIndexes(sql);
    row = await read();
  }
  return row?.leaf_index == null ? null : Number(row.leaf_index);
}
