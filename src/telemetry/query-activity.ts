import { KeelError } from "../errors/index.ts";
import type { SqlClient } from "../store/index.ts";
import { DRIFT_MONITOR_AGENT, readDriftAlarm } from "./drift-alarm.ts";

/** How wide one bucket of an activity series is. */
export type ActivityBucket = "minute" | "hour" | "day";

const BUCKET_SECONDS: Record<ActivityBucket, number> = { minute: 60, hour: 3_600, day: 86_400 };

/** The most buckets one answer holds: a week by the hour is 168, a day by the minute 1,440. */
export const MAX_ACTIVITY_BUCKETS = 1_500;

/** Runs of one bucket, by the time they started: how many, how they ended, and how long the ended ones took. */
export type ActivityPoint = {
  at: string;
  started: number;
  completed: number;
  failed: number;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
};

/** A window's activity: its series, its totals and the drift alarms raised in it. */
export type Activity = {
  bucket: ActivityBucket;
  since: string;
  until: string;
  series: ActivityPoint[];
  totals: ActivityPoint & { ended: number; successRate: number | null };
  driftAlarms: { runId: string; agent: string; at: string; dimensions: string[] }[];
};

/**
 * A tenant's activity over a window, bucketed by run start (the console's overview): one grouped read of the run
 * projection over the `(started_at)` / `(agent, started_at)` indexes, zero-filled here so every bucket is present.
 * Failed counts `failed` and `budget_exceeded`, as the error rate does. Drift monitor runs are alarms, not work,
 * and are listed apart.
 */
export async function queryActivity(
  sql: SqlClient,
  options: { tenant?: string; agent?: string; since: Date; until: Date; bucket: ActivityBucket },
): Promise<Activity> {
  const { since, until, bucket } = options;
  const seconds = BUCKET_SECONDS[bucket];
  const first = Math.floor(since.getTime() / 1000 / seconds) * seconds;
  const buckets = Math.ceil((until.getTime() / 1000 - first) / seconds);
  if (!(until > since))
    throw new KeelError("invalid_request", "until must be after since", {
      issues: [{ path: "until", message: "expected an instant after since" }],
    });
  if (buckets > MAX_ACTIVITY_BUCKETS)
    throw new KeelError(
      "invalid_request",
      `the window holds ${buckets} buckets of a ${bucket}; at most ${MAX_ACTIVITY_BUCKETS}`,
      { issues: [{ path: "bucket", message: "expected a wider bucket or a shorter window" }] },
    );
  const work = windowOf(options, { agent: options.agent ?? null });
  const bucketParam = `$${work.params.push(seconds)}`;
  const { rows } = await sql.query<Record<string, unknown>>(
    `SELECT floor(extract(epoch FROM started_at) / ${bucketParam}::int)::bigint AS slot,
            count(*)::int AS started,
            count(*) FILTER (WHERE status = 'completed')::int AS completed,
            count(*) FILTER (WHERE status IN ('failed', 'budget_exceeded'))::int AS failed,
            percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY duration_ms) AS latency
       FROM keel_telemetry_runs WHERE ${work.where}
      GROUP BY ROLLUP (1) ORDER BY 1`,
    work.params,
  );
  const bySlot = new Map<number, ActivityPoint>();
  let totals: ActivityPoint = point(new Date(first * 1000), null);
  for (const row of rows) {
    if (row.slot === null) totals = point(since, row);
    else {
      const slot = Number(row.slot) * seconds;
      bySlot.set(slot, point(new Date(slot * 1000), row));
    }
  }
  const series = Array.from(
    { length: buckets },
    (_, index) =>
      bySlot.get(first + index * seconds) ?? point(new Date((first + index * seconds) * 1000), null),
  );
  const ended = totals.completed + totals.failed;
  return {
    bucket,
    since: since.toISOString(),
    until: until.toISOString(),
    series,
    totals: {
      ...totals,
      at: since.toISOString(),
      ended,
      successRate: ended === 0 ? null : totals.completed / ended,
    },
    driftAlarms: await driftAlarms(sql, options),
  };
}

/**
 * The conditions on `keel_telemetry_runs` of a window: its tenant, its time, and its agent — or, for no agent, every
 * agent but the drift monitor, whose runs are alarms rather than work.
 */
function windowOf(
  options: { tenant?: string; since: Date; until: Date },
  which: { agent: string | null },
): { where: string; params: unknown[] } {
  const params: unknown[] = [options.since, options.until];
  const conditions = ["started_at >= $1", "started_at < $2"];
  if (options.tenant !== undefined) conditions.push(`tenant = $${params.push(options.tenant)}`);
  conditions.push(
    which.agent === null
      ? `agent <> $${params.push(DRIFT_MONITOR_AGENT)}`
      : `agent = $${params.push(which.agent)}`,
  );
  return { where: conditions.join(" AND "), params };
}

function point(at: Date, row: Record<string, unknown> | null): ActivityPoint {
  const latency =
    row?.latency === null || row?.latency === undefined ? null : (row.latency as number[]).map(Number);
  return {
    at: at.toISOString(),
    started: Number(row?.started ?? 0),
    completed: Number(row?.completed ?? 0),
    failed: Number(row?.failed ?? 0),
    p50LatencyMs: latency?.[0] ?? null,
    p95LatencyMs: latency?.[1] ?? null,
  };
}

/** The drift alarms of the window: each a monitor run whose answer names the agent and the dimensions that moved. */
async function driftAlarms(
  sql: SqlClient,
  options: { tenant?: string; agent?: string; since: Date; until: Date },
): Promise<Activity["driftAlarms"]> {
  const alarms = windowOf(options, { agent: DRIFT_MONITOR_AGENT });
  const { rows } = await sql.query<{ run_id: string; started_at: Date | string; answer: string | null }>(
    `SELECT run_id, started_at, (SELECT answer FROM keel_runs WHERE keel_runs.run_id = t.run_id) AS answer
       FROM keel_telemetry_runs AS t WHERE ${alarms.where} ORDER BY started_at DESC LIMIT 100`,
    alarms.params,
  );
  const { agent } = options;
  return rows.flatMap((row) => {
    const alarm = readDriftAlarm(row.answer ?? undefined);
    if (!alarm || (agent !== undefined && alarm.agent !== agent)) return [];
    return [
      {
        runId: row.run_id,
        agent: alarm.agent,
        at: new Date(row.started_at).toISOString(),
        dimensions: alarm.dimensions.map((item) => item.dimension),
      },
    ];
  });
}
