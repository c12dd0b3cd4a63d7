/**
 * What a stretch of a benchmark cost the database, per step: statements (pg_stat_statements calls in this
 * database, where the extension is loaded; null elsewhere, e.g. PGlite), write commits (transaction ids assigned,
 * server-wide) and WAL bytes (`pg_current_wal_insert_lsn()` difference, server-wide). The benchmark's database
 * runs only the benchmark, so the server-wide figures are its own. This module's own queries are tagged and left
 * out of the statement count.
 */
import { assignLeafIndexes } from "../src/store/assign-leaf-indexes.ts";
import type { SqlClient } from "../src/store/store.ts";

export type WorkMark = { lsn: string; nextXid: string; statements: number | null };

/** Work per step between two marks. */
export type ServerWork = {
  statementsPerStep: number | null;
  writeCommitsPerStep: number;
  walBytesPerStep: number;
  /**
   * WAL the audit log's sequencer then writes to number those steps' events, per step: work every deployment does
   * after the appends (before each checkpoint, proof or verify), outside the steps' own time.
   */
  sequencerWalBytesPerStep: number;
  /** The WAL's largest record kinds (pg_walinspect, where the server has it), bytes per step with page images. */
  walByRecord: { record: string; recordsPerStep: number; bytesPerStep: number }[] | null;
};

const TAG = "/* keel-bench-server-work */";

/** Load pg_stat_statements into this database when the server preloads it; false when it cannot. */
async function statementStatistics(sql: SqlClient): Promise<boolean> {
  try {
    await sql.query(`${TAG} CREATE EXTENSION IF NOT EXISTS pg_stat_statements`);
    await sql.query(`${TAG} SELECT count(*) FROM pg_stat_statements`);
    return true;
  } catch {
    return false;
  }
}

export async function markWork(sql: SqlClient): Promise<WorkMark> {
  const counted = await statementStatistics(sql);
  const statements = counted
    ? Number(
        (
          await sql.query<{ calls: string | number }>(
            `${TAG} SELECT coalesce(sum(s.calls), 0)::text AS calls FROM pg_stat_statements s
              JOIN pg_database d ON d.oid = s.dbid
             WHERE d.datname = current_database() AND s.query NOT LIKE '%keel-bench-server-work%'`,
          )
        ).rows[0]!.calls,
      )
    : null;
  // The snapshot's xmax is the first transaction id not yet assigned; reading it assigns none.
  const { rows } = await sql.query<{ lsn: string; xid: string }>(
    `${TAG} SELECT pg_current_wal_insert_lsn()::text AS lsn, pg_snapshot_xmax(pg_current_snapshot())::text AS xid`,
  );
  return { lsn: rows[0]!.lsn, nextXid: rows[0]!.xid, statements };
}

export async function workPerStep(sql: SqlClient, before: WorkMark, steps: number): Promise<ServerWork> {
  const after = await markWork(sql);
  const { rows } = await sql.query<{ bytes: string }>(
    `${TAG} SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::text AS bytes`,
    [after.lsn, before.lsn],
  );
  await assignLeafIndexes(sql);
  const { rows: numbered } = await sql.query<{ bytes: string }>(
    `${TAG} SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::text AS bytes`,
    [after.lsn],
  );
  return {
    statementsPerStep:
      after.statements === null || before.statements === null
        ? null
        : (after.statements - before.statements) / steps,
    writeCommitsPerStep: Number(BigInt(after.nextXid) - BigInt(before.nextXid)) / steps,
    walBytesPerStep: Number(rows[0]!.bytes) / steps,
    sequencerWalBytesPerStep: Number(numbered[0]!.bytes) / steps,
    walByRecord: await walByRecord(sql, before.lsn, after.lsn, steps),
  };
}

/** The five record kinds that took the most WAL between two positions, per step; null without pg_walinspect. */
async function walByRecord(
  sql: SqlClient,
  from: string,
  to: string,
  steps: number,
): Promise<ServerWork["walByRecord"]> {
  try {
    await sql.query(`${TAG} CREATE EXTENSION IF NOT EXISTS pg_walinspect`);
    const { rows } = await sql.query<{ record: string; count: string; bytes: string }>(
      `${TAG} SELECT "resource_manager/record_type" AS record, count::text, combined_size::text AS bytes
         FROM pg_get_wal_stats($1::pg_lsn, $2::pg_lsn, true)
        WHERE count > 0 ORDER BY combined_size DESC LIMIT 5`,
      [from, to],
    );
    return rows.map((row) => ({
      record: row.record,
      recordsPerStep: Number(row.count) / steps,
      bytesPerStep: Number(row.bytes) / steps,
    }));
  } catch {
    return null;
  }
}

/** "9.67 statements, 2.45 write commits, 9,019 B WAL per step", for a report line. */
export function formatServerWork(work: ServerWork): string {
  const statements =
    work.statementsPerStep === null ? "statements n/a" : `${work.statementsPerStep.toFixed(2)} statements`;
  const largest = work.walByRecord
    ? ` (largest: ${work.walByRecord
        .slice(0, 3)
        .map(
          (entry) =>
            `${entry.recordsPerStep.toFixed(1)} ${entry.record} ${Math.round(entry.bytesPerStep).toLocaleString("en-US")} B`,
        )
        .join(", ")})`
    : "";
  return `${statements}, ${work.writeCommitsPerStep.toFixed(2)} write commits, ${Math.round(work.walBytesPerStep).toLocaleString("en-US")} B WAL per step${largest}, then ${Math.round(work.sequencerWalBytesPerStep).toLocaleString("en-US")} B WAL to number its audit leaves`;
}
