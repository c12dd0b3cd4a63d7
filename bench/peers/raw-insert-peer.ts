/**
 * The baseline: one journal-event-sized row per single-row `INSERT` in autocommit (bench/raw-insert-baseline.ts),
 * through node-postgres with a pool of 10 as Keel's store uses. One at a time: INSERT latency. At once: as many
 * callers as runs, each inserting one row after another for the plan's window (rows/s).
 */
import pg from "pg";
import { createRawInsertTable, insertRawRow, RAW_INSERT_TABLE } from "../raw-insert-baseline.ts";
import { timeConcurrent, timeSequential } from "../time-operations.ts";
import { type PeerPlan, type PeerSystem, timePhase } from "./peer-system.ts";

export async function openRawInsertPeer(databaseUrl: string, plan: PeerPlan): Promise<PeerSystem> {
  const pool = new pg.Pool({ connectionString: databaseUrl });
  pool.on("error", () => undefined);
  const sql = { query: async (text: string, params?: unknown[]) => await pool.query(text, params) };
  await createRawInsertTable(sql);
  let phases = 0;
  let inserted = 0;
  const insert = async (runId: string, seq: number) => {
    await insertRawRow(sql, runId, seq);
    inserted += 1;
  };

  return {
    describe: { baseline: "single-row INSERT in autocommit, ~300-byte jsonb payload; pg pool of 10" },
    sequential: async (count) => {
      phases += 1;
      const runId = `sequential_${phases}`;
      return await timePhase(async () => {
        const samplesMs = await timeSequential(
          { warmup: 0, measured: count },
          async (index) => await insert(runId, index + 1),
        );
        return { samplesMs, operations: count };
      });
    },
    concurrent: async (count) => {
      phases += 1;
      const phase = phases;
      return await timePhase(async () => {
        const before = inserted;
        const result = await timeConcurrent({
          concurrency: count,
          warmupMs: 0,
          measureMs: plan.rawMeasureMs,
          operation: async (lane, index) => await insert(`concurrent_${phase}_${lane}`, index + 1),
        });
        return {
          samplesMs: [],
          operations: result.operations,
          executed: inserted - before,
          elapsedMs: result.elapsedMs,
        };
      });
    },
    async verify() {
      const { rows } = await pool.query<{ rows: number }>(
        `SELECT count(*)::int AS rows FROM ${RAW_INSERT_TABLE}`,
      );
      if (rows[0]?.rows !== inserted)
        throw new Error(`${inserted} rows inserted, ${rows[0]?.rows} in the table`);
      return `${inserted} rows in the table`;
    },
    close: async () => await pool.end(),
  };
}
