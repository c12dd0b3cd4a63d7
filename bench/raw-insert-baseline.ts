/**
 * Baseline: what one durable row costs on this store without Keel. A single-row `INSERT` in autocommit, one
 * journal-event-sized row (text ids, a ~300-byte jsonb payload, a hash), through the same driver and pool
 * the store uses (`store.sql`). Measured one at a time (latency) and from as many concurrent callers as the
 * journal throughput runs use (rows/s). Every other figure in the report is divided by these.
 */
import { createHash } from "node:crypto";
import type { SqlStore } from "../src/store/sql-store.ts";
import type { SqlClient } from "../src/store/store.ts";
import { benchPayloadJson } from "./bench-event.ts";
import { type LatencySummary, summarizeLatencies } from "./summarize-latencies.ts";
import { type Phase, type ThroughputResult, timeConcurrent, timeSequential } from "./time-operations.ts";

export type RawInsertOptions = {
  sequential: Phase;
  /** Concurrent callers, one throughput run per level. */
  concurrency: readonly number[];
  warmupMs: number;
  measureMs: number;
};

export type RawInsertResult = { sequential: LatencySummary; concurrent: ThroughputResult[] };

/** The baseline's table. */
export const RAW_INSERT_TABLE = "bench_raw_insert";

export async function benchRawInsert(store: SqlStore, options: RawInsertOptions): Promise<RawInsertResult> {
  await createRawInsertTable(store.sql);
  const insert = async (runId: string, seq: number) => await insertRawRow(store.sql, runId, seq);
  try {
    const samples = await timeSequential(
      options.sequential,
      async (index) => await insert("run_sequential", index + 1),
    );
    const concurrent: ThroughputResult[] = [];
    for (const concurrency of options.concurrency) {
      concurrent.push(
        await timeConcurrent({
          concurrency,
          warmupMs: options.warmupMs,
          measureMs: options.measureMs,
          operation: async (lane, index) => await insert(`run_c${concurrency}_lane_${lane}`, index + 1),
        }),
      );
    }
    return { sequential: summarizeLatencies(samples), concurrent };
  } finally {
    await store.sql.query(`DROP TABLE IF EXISTS ${RAW_INSERT_TABLE}`);
  }
}

/** (Re)create the baseline's table, empty. */
export async function createRawInsertTable(sql: Pick<SqlClient, "query">): Promise<void> {
  await sql.query(`DROP TABLE IF EXISTS ${RAW_INSERT_TABLE}`);
  await sql.query(
    `CREATE TABLE ${RAW_INSERT_TABLE} (
       run_id text NOT NULL, seq integer NOT NULL, type text NOT NULL, at timestamptz NOT NULL,
       payload jsonb NOT NULL, hash text NOT NULL, PRIMARY KEY (run_id, seq))`,
  );
}

/** One baseline row: a single-row `INSERT` in autocommit, unique by (`runId`, `seq`). */
export async function insertRawRow(sql: Pick<SqlClient, "query">, runId: string, seq: number): Promise<void> {
  const payload = benchPayloadJson(seq);
  await sql.query(
    `INSERT INTO ${RAW_INSERT_TABLE} (run_id, seq, type, at, payload, hash) VALUES ($1, $2, $3, $4::timestamptz, $5::jsonb, $6)`,
    [runId, seq, "tool-call-end", new Date().toISOString(), payload, sha256(payload)],
  );
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
