import type { SqlClient, Store } from "../store/index.ts";
import { buildRunSpans } from "./build-run-spans.ts";
import type { KeelSpan } from "./keel-span.ts";
import { summarizeRun } from "./summarize-run.ts";
import type { TelemetryEvent } from "./telemetry-event.ts";
import type { TelemetryMetrics } from "./telemetry-metrics.ts";
import type { TraceExporter } from "./trace-exporter.ts";
import { type RunFold, writeProjections } from "./write-projections.ts";

export type JournalProjectorOptions = {
  store: Pick<Store, "sql">;
  metrics?: TelemetryMetrics;
  exporter?: TraceExporter;
  /** Runs folded per transaction (default 200). */
  batchSize?: number;
  /** Spans queued for export at which the projector waits for the exporter before folding more (default 2,048). */
  exportHighWater?: number;
  /** How often the running projector looks for new events (default 250 ms). */
  pollIntervalMs?: number;
  log?: (message: string) => void;
};

/** What one catch-up did. */
export type ProjectionProgress = { runs: number; events: number; spans: number };

/** The projector that turns the journal into traces, metrics and the query tables. */
export type JournalProjector = {
  /** Poll for new events every `pollIntervalMs` until stopped. */
  start(): void;
  stop(): Promise<void>;
  /** Fold every event appended so far; resolves when the projections have caught up. */
  catchUp(): Promise<ProjectionProgress>;
  /**
   * Delete the projection tables' rows and fold the whole journal again (invariant 8). Replayed events are not
   * exported or counted again unless asked: they were exported and counted when they happened.
   */
  rebuild(options?: { exportSpans?: boolean; countMetrics?: boolean }): Promise<ProjectionProgress>;
};

/** Serialises projectors on one database: a second process skips a round instead of folding twice. */
const PROJECTOR_LOCK_KEY = 4_711_203_005;
/** Appends commit within milliseconds of setting updated_at; this much overlap re-checks rows a poll could miss. */
const WATERMARK_SLACK_MS = 5_000;

type PendingRun = { run_id: string; last_seq: number; projected_seq: number; updated_at: Date };
type EventRow = { run_id: string; seq: number; type: string; at: Date | string; payload: unknown };

/**
 * Folds journal events into the telemetry projections. It finds runs whose journal moved past what it folded
 * (running runs by status, the others by keel_runs.updated_at; then last_seq against
 * keel_telemetry_runs.projected_seq), reads their events, and in
 * one transaction per batch rewrites their summary rows (a pure fold of the whole run, so a repeat is harmless)
 * and adds what the new events contributed to the rollups. After the commit it counts the new events in the
 * metrics and hands the spans they closed to the exporter. Works the same for events appended by any process.
 */
export function createJournalProjector(options: JournalProjectorOptions): JournalProjector {
  const sql = options.store.sql;
  const batchSize = options.batchSize ?? 200;
  const pollIntervalMs = options.pollIntervalMs ?? 250;
  const exportHighWater = options.exportHighWater ?? 2_048;
  const log = options.log ?? ((message: string) => console.error(message));
  let watermark = new Date(0);
  let running: Promise<void> | null = null;
  let stopping: AbortController | null = null;
  let current: Promise<ProjectionProgress> | null = null;
  /** Where this catch-up pass has read up to in (updated_at, run_id) order, so each batch reads forward only. */
  let cursor: { at: Date; runId: string } = { at: new Date(0), runId: "" };

  async function projectBatch(emit: {
    exportSpans: boolean;
    countMetrics: boolean;
  }): Promise<(ProjectionProgress & { pending: number }) | null> {
    const outcome = await sql.transaction(async (tx) => {
      const { rows: locked } = await tx.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_xact_lock($1::bigint) AS locked",
        [PROJECTOR_LOCK_KEY],
      );
      if (!locked[0]?.locked) return null;
      const found = await findPending(tx, cursor, batchSize);
      // The two reads are two snapshots: a run that ended between them is in both, and is folded once.
      const ended = new Set(found.moved.map((run) => run.run_id));
      const pending = [...found.live.filter((run) => !ended.has(run.run_id)), ...found.moved];
      if (pending.length === 0) return { pending, moved: found.moved, runs: [] as RunFold[] };
      const events = await readEvents(
        tx,
        pending.map((run) => run.run_id),
      );
      const runs: RunFold[] = [];
      for (const run of pending) {
        const runEvents = events.get(run.run_id) ?? [];
        const summary = summarizeRun(runEvents);
        if (!summary) continue;
        runs.push({ events: runEvents, summary, projectedSeq: Number(run.projected_seq) });
      }
      await writeProjections(tx, runs);
      return { pending, moved: found.moved, runs };
    });
    if (outcome === null) return null;
    const { pending, moved, runs } = outcome;
    if (pending.length === 0) return { runs: 0, events: 0, spans: 0, pending: 0 };
    const last = moved.at(-1);
    if (last) {
      cursor = { at: last.updated_at, runId: last.run_id };
      const newest = Math.max(...moved.map((run) => run.updated_at.getTime()));
      watermark = new Date(Math.max(watermark.getTime(), newest - WATERMARK_SLACK_MS));
    }
    let eventCount = 0;
    const spans: KeelSpan[] = [];
    for (const run of runs) {
      eventCount += run.summary.lastSeq - run.projectedSeq;
      if (emit.countMetrics) options.metrics?.observeRun(run.events, run.projectedSeq);
      if (emit.exportSpans && options.exporter) {
        for (const span of buildRunSpans(run.events)) {
          if (span.endSeq !== null && span.endSeq > run.projectedSeq) spans.push(span);
        }
      }
    }
    if (spans.length > 0 && options.exporter) {
      options.exporter.export(spans);
      // Back-pressure: let the exporter drain before folding more, rather than overflow its queue.
      if (options.exporter.stats.queued >= exportHighWater) await options.exporter.flush();
    }
    return { runs: runs.length, events: eventCount, spans: spans.length, pending: pending.length };
  }

  async function catchUpWith(emit: {
    exportSpans: boolean;
    countMetrics: boolean;
  }): Promise<ProjectionProgress> {
    const total: ProjectionProgress = { runs: 0, events: 0, spans: 0 };
    // Each pass starts a little before the last one ended, to catch appends that committed late.
    cursor = { at: watermark, runId: "" };
    for (;;) {
      const progress = await projectBatch(emit);
      if (progress === null) {
        // Another process holds the projector lock; it will fold these events.
        return total;
      }
      total.runs += progress.runs;
      total.events += progress.events;
      total.spans += progress.spans;
      if (progress.pending < batchSize) return total;
    }
  }

  /** One catch-up at a time in this process; callers arriving meanwhile wait for it and then run their own. */
  async function serialised(work: () => Promise<ProjectionProgress>): Promise<ProjectionProgress> {
    while (current) await current.catch(() => undefined);
    const promise = work();
    current = promise;
    try {
      return await promise;
    } finally {
      if (current === promise) current = null;
    }
  }

  return {
    start() {
      if (running !== null) return;
      const controller = new AbortController();
      stopping = controller;
      running = (async () => {
        while (!controller.signal.aborted) {
          try {
            await serialised(() => catchUpWith({ exportSpans: true, countMetrics: true }));
          } catch (error) {
            log(
              `telemetry: projecting the journal failed: ${error instanceof Error ? error.message : String(error)}`,
            );
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, pollIntervalMs);
            controller.signal.addEventListener("abort", () => {
              clearTimeout(timer);
              resolve();
            });
          });
        }
      })();
    },
    async stop() {
      stopping?.abort();
      await running;
      running = null;
    },
    catchUp: () => serialised(() => catchUpWith({ exportSpans: true, countMetrics: true })),
    rebuild: (rebuildOptions = {}) =>
      serialised(async () => {
        await sql.transaction(async (tx) => {
          await tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [PROJECTOR_LOCK_KEY]);
          await tx.query("DELETE FROM keel_telemetry_runs");
          await tx.query("DELETE FROM keel_telemetry_model_calls");
          await tx.query("DELETE FROM keel_telemetry_budgets");
        });
        watermark = new Date(0);
        return await catchUpWith({
          exportSpans: rebuildOptions.exportSpans ?? false,
          countMetrics: rebuildOptions.countMetrics ?? false,
        });
      }),
  };
}

/**
 * Runs whose journal moved past what was folded, at most `limit`: running runs first (a running run's steps leave
 * `updated_at` alone, so they are found by status), then the others in (updated_at, run_id) order after `after`.
 * `moved` says which came from the second list: only those advance the cursor.
 */
async function findPending(
  sql: SqlClient,
  after: { at: Date; runId: string },
  limit: number,
): Promise<{ live: PendingRun[]; moved: PendingRun[] }> {
  const { rows: live } = await sql.query<PendingRun>(
    `SELECT r.run_id, r.last_seq, COALESCE(t.projected_seq, 0) AS projected_seq, r.updated_at
       FROM keel_runs r LEFT JOIN keel_telemetry_runs t ON t.run_id = r.run_id
      WHERE r.status = 'running' AND r.last_seq > COALESCE(t.projected_seq, 0)
      ORDER BY r.run_id
      LIMIT $1`,
    [limit],
  );
  const room = limit - live.length;
  const { rows: moved } =
    room === 0
      ? { rows: [] as PendingRun[] }
      : await sql.query<PendingRun>(
          `SELECT r.run_id, r.last_seq, COALESCE(t.projected_seq, 0) AS projected_seq, r.updated_at
             FROM keel_runs r LEFT JOIN keel_telemetry_runs t ON t.run_id = r.run_id
            WHERE (r.updated_at, r.run_id) > ($1::timestamptz, $2::text) AND r.status <> 'running'
              AND r.last_seq > COALESCE(t.projected_seq, 0)
            ORDER BY r.updated_at, r.run_id
            LIMIT $3`,
          [after.at, after.runId, room],
        );
  const dated = (row: PendingRun) => ({ ...row, updated_at: new Date(row.updated_at) });
  return { live: live.map(dated), moved: moved.map(dated) };
}

async function readEvents(sql: SqlClient, runIds: readonly string[]): Promise<Map<string, TelemetryEvent[]>> {
  const { rows } = await sql.query<EventRow>(
    "SELECT run_id, seq, type, at, payload::json AS payload FROM keel_events WHERE run_id = ANY($1::text[]) ORDER BY run_id, seq",
    [runIds],
  );
  const byRun = new Map<string, TelemetryEvent[]>();
  for (const row of rows) {
    let list = byRun.get(row.run_id);
    if (!list) {
      list = [];
      byRun.set(row.run_id, list);
    }
    list.push({
      runId: row.run_id,
      seq: Number(row.seq),
      type: row.type,
      at: row.at instanceof Date ? row.at.toISOString() : new Date(row.at).toISOString(),
      payload: row.payload,
    } as TelemetryEvent);
  }
  return byRun;
}
