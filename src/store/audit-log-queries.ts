import type { SignedCheckpoint, StoredLeafRow } from "../journal/index.ts";
import { assignLeafIndexes } from "./assign-leaf-indexes.ts";
import { batchesFrom, COUNT_EVENTS } from "./run-rows.ts";
import type { SqlClient } from "./store.ts";

/** Leaves read per query when walking the log: a power of two, so pages line up with subtrees. */
export const LEAF_PAGE_SIZE = 8_192;

/** A leaf's index: its range's first leaf plus the event's distance from the range's first seq (migration 0020). */
const LEAF_INDEX = "(l.first_leaf + (e.seq - l.first_seq))";

/**
 * The columns of a leaf as verification reads them: `at` with microseconds (a sub-millisecond edit shows), the
 * payload as the database's JSON text (parsed where the page is hashed), bigints as float8 (exact below 2^53).
 */
const LEAF_COLUMNS = `${LEAF_INDEX}::float8 AS leaf_index, e.run_id, e.seq, e.type,
  to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, e.payload,
  e.schema_version, encode(e.payload_hash, 'hex') AS payload_hash, encode(e.prev_hash, 'hex') AS prev_hash,
  encode(e.hash, 'hex') AS hash, e.lease_token::float8 AS lease_token`;

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
const LEAF_ARRAY = `json_build_array(${LEAF_INDEX}, e.run_id, e.seq, e.type,
  to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.payload,
  e.schema_version, encode(e.payload_hash, 'hex'), encode(e.prev_hash, 'hex'), encode(e.hash, 'hex'), e.lease_token)`;

type LeafArray = [number, string, number, string, string, string, number, string, string, string, number];

/**
 * Which leaves to read: the ranges (`l`) that `ranges` picks, and of each range the leaves whose offset in it is in
 * `[from, to)` (SQL over `l`). Each range's events are read by primary key (a lateral join, so the plan is the same
 * with or without statistics, as on PGlite).
 */
type LeafSelection = { ranges: string; from: string; to: string };

/** The whole of each range. */
const WHOLE_RANGES = { from: "0", to: "l.count" };

/**
 * The ranges holding leaves `[$1, $2)`: from the one where leaf $1 falls (the last to start at or before it; the
 * sequencer's ranges never overlap) to the last that starts before $2, each cut to those leaves.
 */
const LEAVES_BETWEEN: LeafSelection = {
  ranges: `l.first_leaf >= coalesce((SELECT max(first_leaf) FROM keel_audit_ranges WHERE first_leaf <= $1), $1)
      AND l.first_leaf < $2`,
  from: "greatest(0, $1 - l.first_leaf)",
  to: "least(l.count, $2 - l.first_leaf)",
};

/** The leaves `selection` names (with `params`), ordered by `orderBy`, in the shape cheapest for the driver. */
async function queryLeaves(
  sql: SqlClient,
  selection: LeafSelection,
  orderBy: string,
  params: unknown[],
): Promise<StoredLeafRow[]> {
  const from = `FROM keel_audit_ranges AS l
    CROSS JOIN LATERAL (
      SELECT * FROM keel_events AS e
       WHERE e.run_id = l.run_id AND e.seq >= l.first_seq + ${selection.from} AND e.seq < l.first_seq + ${selection.to}
         AND ${batchesFrom("e", "l.run_id", `l.first_seq + ${selection.from}`)}
         AND e.batch_first_seq < l.first_seq + ${selection.to}
    ) AS e
    WHERE ${selection.ranges}`;
  if (sql.kind !== "pglite") {
    const { rows } = await sql.query<LeafRow>(`SELECT ${LEAF_COLUMNS} ${from} ORDER BY ${orderBy}`, params);
    return rows.map(toStoredLeaf);
  }
  const { rows } = await sql.query<{ leaves: string | null }>(
    `SELECT json_agg(${LEAF_ARRAY} ORDER BY ${orderBy})::text AS leaves ${from}`,
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
  return await queryLeaves(sql, LEAVES_BETWEEN, LEAF_INDEX, [from, to]);
}

/** One run's leaves, in seq order: its events the sequencer has numbered. */
export async function readRunLeaves(sql: SqlClient, runId: string): Promise<StoredLeafRow[]> {
  return await queryLeaves(sql, { ranges: "l.run_id = $1", ...WHOLE_RANGES }, "e.seq", [runId]);
}

/**
 * Every stored leaf from index `from` on, a page of up to `pageSize` indexes at a time, and then (unless `withExtra` is
 * false) any leaves beyond `size`, which nobody counted, and (with `unnumbered`) every stored event that is neither a
 * leaf nor queued for the sequencer, as a leaf of index -1, so a verifier sees exactly what the tables hold.
 */
export async function* leafPages(
  sql: SqlClient,
  options: { from?: number; size: number; pageSize?: number; withExtra?: boolean; unnumbered?: boolean },
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
  // Closed ranges of the first leaf: an open range is planned as a scan of the whole table wherever statistics are
  // missing (PGlite never analyses on its own).
  const extra = [
    ...(await queryLeaves(
      sql,
      { ranges: "l.first_leaf >= $1 AND l.first_leaf < 0", ...WHOLE_RANGES },
      LEAF_INDEX,
      [-Number.MAX_SAFE_INTEGER],
    )),
    ...(await readLeaves(sql, options.size, Number.MAX_SAFE_INTEGER)),
    ...(options.unnumbered ? await readUnnumberedEvents(sql) : []),
  ];
  if (extra.length > 0) yield extra;
}

/**
 * Stored events in no leaf range and not queued for numbering (none, unless rows were written past the store), as
 * leaves of index -1. Counted first, so a log in order costs one count of the events.
 */
async function readUnnumberedEvents(sql: SqlClient): Promise<StoredLeafRow[]> {
  const { rows } = await sql.query<{ unaccounted: number | string }>(
    `SELECT ${COUNT_EVENTS}
          - (SELECT coalesce(sum(count), 0) FROM keel_audit_ranges)
          - (SELECT coalesce(sum(count), 0) FROM keel_audit_pending) AS unaccounted`,
  );
  if (Number(rows[0]?.unaccounted ?? 0) <= 0) return [];
  const { rows: events } = await sql.query<LeafRow>(
    `SELECT ${LEAF_COLUMNS.replace(`${LEAF_INDEX}::float8`, "-1::float8")} FROM keel_events AS e
      WHERE NOT EXISTS (SELECT 1 FROM keel_audit_ranges AS l
                         WHERE l.run_id = e.run_id AND l.first_seq <= e.seq AND e.seq < l.first_seq + l.count)
        AND NOT EXISTS (SELECT 1 FROM keel_audit_pending AS p
                         WHERE p.run_id = e.run_id AND p.first_seq <= e.seq AND e.seq < p.first_seq + p.count)
      ORDER BY e.run_id, e.seq`,
  );
  return events.map(toStoredLeaf);
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
        `SELECT (SELECT l.first_leaf + (e.seq - l.first_seq) FROM keel_audit_ranges AS l
                  WHERE l.run_id = e.run_id AND l.first_seq <= e.seq AND e.seq < l.first_seq + l.count
                  ORDER BY l.first_seq DESC LIMIT 1)::float8 AS leaf_index
           FROM keel_events AS e WHERE e.run_id = $1 AND e.seq = $2 AND ${batchesFrom("e", "$1", "$2")}
            AND e.batch_first_seq <= $2`,
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
