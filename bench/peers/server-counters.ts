/**
 * What a phase cost the PostgreSQL server, read from the server itself over a monitoring connection to another
 * database (so its own queries are not counted): statements per database from pg_stat_statements (reset before
 * each phase), transactions that wrote (transaction ids assigned, server-wide), and WAL bytes inserted
 * (`pg_current_wal_insert_lsn()` difference, server-wide). Only one system runs at a time, so the server-wide
 * figures belong to it. `pg_stat_database.xact_commit` is not read per phase: a backend reports it up to 10 s
 * late (PostgreSQL 15 batches statistics), so it is read once, after every system closed its connections.
 */
import type pg from "pg";

export type ServerMark = { walInsertLsn: string; nextXid: bigint };

/** One normalized statement's use in a phase. */
export type StatementUse = { query: string; calls: number; totalMs: number; walBytes: number };

export type PhaseCounters = {
  statements: number;
  writeTransactions: number;
  walBytes: number;
  byStatement: StatementUse[];
};

export async function enableStatementStatistics(admin: pg.Client): Promise<void> {
  await admin.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
}

export async function markServer(admin: pg.Client): Promise<ServerMark> {
  // The snapshot's xmax is the first transaction id not yet assigned; reading it assigns none.
  const { rows } = await admin.query<{ lsn: string; xid: string }>(
    "SELECT pg_current_wal_insert_lsn()::text AS lsn, pg_snapshot_xmax(pg_current_snapshot())::text AS xid",
  );
  return { walInsertLsn: rows[0]!.lsn, nextXid: BigInt(rows[0]!.xid) };
}

export async function resetStatements(admin: pg.Client): Promise<void> {
  await admin.query("SELECT pg_stat_statements_reset()");
}

/** The counters between two marks, with the statements database `database` ran since the last reset. */
export async function countersBetween(
  admin: pg.Client,
  database: string,
  before: ServerMark,
  after: ServerMark,
): Promise<PhaseCounters> {
  const wal = await admin.query<{ bytes: string }>(
    "SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::text AS bytes",
    [after.walInsertLsn, before.walInsertLsn],
  );
  const { rows } = await admin.query<{ query: string; calls: string; total_ms: number; wal_bytes: string }>(
    `SELECT s.query, s.calls::text, s.total_exec_time AS total_ms, s.wal_bytes::text
       FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
      WHERE d.datname = $1`,
    [database],
  );
  const byStatement = rows.map((row) => ({
    query: row.query.replace(/\s+/g, " ").trim(),
    calls: Number(row.calls),
    totalMs: row.total_ms,
    walBytes: Number(row.wal_bytes),
  }));
  return {
    statements: byStatement.reduce((sum, use) => sum + use.calls, 0),
    writeTransactions: Number(after.nextXid - before.nextXid),
    walBytes: Number(wal.rows[0]!.bytes),
    byStatement,
  };
}

/** Committed transactions per database, read from pg_stat_database once its backends have reported. */
export async function committedTransactions(
  admin: pg.Client,
  databases: readonly string[],
): Promise<Map<string, number>> {
  const { rows } = await admin.query<{ datname: string; commits: string }>(
    "SELECT datname, xact_commit::text AS commits FROM pg_stat_database WHERE datname = ANY($1)",
    [databases],
  );
  return new Map(rows.map((row) => [row.datname, Number(row.commits)]));
}
