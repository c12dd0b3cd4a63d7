import { randomBytes } from "node:crypto";
import type { SqlClient, Store } from "../store/index.ts";
import { DRIFT_MONITOR_AGENT } from "./drift-alarm.ts";
import type { TelemetryMetrics } from "./telemetry-metrics.ts";

export type DriftDimension = "outcome" | "tool_mix" | "cost" | "score";

/** A time window of runs (by start time). */
export type DriftWindow = { since: Date; until: Date };

export type DriftReading = {
  dimension: DriftDimension;
  /** Population stability index; null when a window had no data for this dimension. */
  psi: number | null;
  alarm: boolean;
  baseline: Record<string, number>;
  current: Record<string, number>;
};

export type DriftCheck = {
  agent: string;
  readings: DriftReading[];
  /** The monitor run that journaled the alarms, when any dimension crossed the threshold. */
  alarmRunId: string | null;
};

/** Share smaller than this counts as this much, so an empty bin does not make the index infinite. */
const EPSILON = 1e-4;

/**
 * Population stability index of two distributions over the same bins: Σ (c − b) · ln(c / b) over the bins'
 * shares. Below 0.1 is stable, 0.1–0.25 a moderate shift, above 0.25 a significant one.
 */
export function populationStabilityIndex(
  baseline: Record<string, number>,
  current: Record<string, number>,
): number {
  const bins = new Set([...Object.keys(baseline), ...Object.keys(current)]);
  const total = (counts: Record<string, number>) =>
    Object.values(counts).reduce((sum, count) => sum + count, 0);
  const baseTotal = total(baseline);
  const currentTotal = total(current);
  let psi = 0;
  for (const bin of bins) {
    const b = Math.max(EPSILON, (baseline[bin] ?? 0) / baseTotal);
    const c = Math.max(EPSILON, (current[bin] ?? 0) / currentTotal);
    psi += (c - b) * Math.log(c / b);
  }
  return psi;
}

/**
 * Compare an agent's current window with a baseline window on outcome, tool mix, cost and eval score (when eval
 * annotations exist), set `keel_drift_psi`, and journal an alarm when a dimension's PSI exceeds `threshold`: a
 * run of `keel.drift-monitor` whose `run-end` answer is the alarm (JSON), so alarms are hash-linked and replayable
 * like every other record.
 */
export async function checkDrift(options: {
  store: Pick<Store, "sql" | "createRun" | "append">;
  agent: string;
  /** The tenant the alarm run belongs to: the agent's (default `default`). */
  tenant?: string;
  baseline: DriftWindow;
  current: DriftWindow;
  threshold?: number;
  metrics?: TelemetryMetrics;
  now?: () => Date;
}): Promise<DriftCheck> {
  const { store, agent } = options;
  const threshold = options.threshold ?? 0.25;
  const readings: DriftReading[] = [];
  for (const dimension of ["outcome", "tool_mix", "cost", "score"] as const) {
    const [baseline, current] = await distributions(
      store.sql,
      agent,
      dimension,
      options.baseline,
      options.current,
    );
    const empty = Object.keys(baseline).length === 0 || Object.keys(current).length === 0;
    const psi = empty ? null : populationStabilityIndex(baseline, current);
    if (psi !== null) options.metrics?.driftScore(agent, dimension, psi);
    readings.push({ dimension, psi, alarm: psi !== null && psi > threshold, baseline, current });
  }
  const alarms = readings.filter((reading) => reading.alarm);
  if (alarms.length === 0) return { agent, readings, alarmRunId: null };
  const now = (options.now ?? (() => new Date()))();
  const runId = `run_drift_${now.getTime().toString(36)}${randomBytes(6).toString("hex")}`;
  const alarm = {
    kind: "drift-alarm",
    agent,
    threshold,
    baseline: { since: options.baseline.since.toISOString(), until: options.baseline.until.toISOString() },
    current: { since: options.current.since.toISOString(), until: options.current.until.toISOString() },
    dimensions: alarms.map((reading) => ({ dimension: reading.dimension, psi: reading.psi })),
  };
  await store.createRun({
    runId,
    start: {
      agent: DRIFT_MONITOR_AGENT,
      agentVersion: "1",
      specHash: "builtin",
      input: `drift check of ${agent}`,
      principal: { subject: DRIFT_MONITOR_AGENT, tenant: options.tenant ?? "default", roles: [] },
      startedAt: now.toISOString(),
      deadlineAt: new Date(now.getTime() + 60_000).toISOString(),
      maxSteps: 1,
    },
    leaseTo: { owner: DRIFT_MONITOR_AGENT, ttlMs: 60_000 },
  });
  await store.append({
    lease: { runId, owner: DRIFT_MONITOR_AGENT, token: 1, expiresAt: new Date(now.getTime() + 60_000) },
    events: [{ type: "run-end", payload: { status: "completed", answer: JSON.stringify(alarm), steps: 0 } }],
  });
  return { agent, readings, alarmRunId: runId };
}

async function distributions(
  sql: SqlClient,
  agent: string,
  dimension: DriftDimension,
  baseline: DriftWindow,
  current: DriftWindow,
): Promise<[Record<string, number>, Record<string, number>]> {
  const counts = async (window: DriftWindow, query: string): Promise<Record<string, number>> => {
    const { rows } = await sql.query<{ bin: string; count: string | number }>(query, [
      agent,
      window.since,
      window.until,
    ]);
    return Object.fromEntries(rows.map((row) => [String(row.bin), Number(row.count)]));
  };
  const ended = "agent = $1 AND started_at >= $2 AND started_at < $3 AND ended_at IS NOT NULL";
  switch (dimension) {
    case "outcome": {
      const query = `SELECT status AS bin, count(*) AS count FROM keel_telemetry_runs WHERE ${ended} GROUP BY status`;
      return [await counts(baseline, query), await counts(current, query)];
    }
    case "tool_mix": {
      const query = `SELECT tool AS bin, count(*) AS count FROM keel_telemetry_runs, unnest(tools) AS tool
                      WHERE ${ended} GROUP BY tool`;
      return [await counts(baseline, query), await counts(current, query)];
    }
    case "cost": {
      // Logarithmic bins (each 1.5x wider than the last): a shift in cost moves runs across bins whatever the scale,
      // and a baseline whose runs all cost the same still has somewhere to differ from.
      const query = `SELECT CASE WHEN cost_nano_usd <= 0 THEN -1 ELSE floor(ln(cost_nano_usd::float8) / ln(1.5))::int END AS bin,
                            count(*) AS count
                       FROM keel_telemetry_runs WHERE ${ended} GROUP BY 1`;
      return [await counts(baseline, query), await counts(current, query)];
    }
    case "score": {
      const { rows } = await sql.query<{ present: string | null }>(
        "SELECT to_regclass('keel_evaluation_events')::text AS present",
      );
      if (!rows[0]?.present) return [{}, {}];
      const query = `SELECT least(floor((payload->>'score')::float8 * 5), 4)::int AS bin, count(*) AS count
                       FROM keel_evaluation_events WHERE agent = $1 AND at >= $2 AND at < $3 GROUP BY 1`;
      return [await counts(baseline, query), await counts(current, query)];
    }
  }
}
