import { KeelError } from "../errors/index.ts";
import type { SqlClient, Store } from "../store/index.ts";
import { buildRunSpans } from "./build-run-spans.ts";
import { type PathStep, pathPattern } from "./decision-path.ts";
import type { KeelSpan } from "./keel-span.ts";
import { type Activity, type ActivityBucket, queryActivity } from "./query-activity.ts";
import type { TelemetryEvent } from "./telemetry-event.ts";

/** A run as the query views show it. */
export type RunRow = {
  runId: string;
  traceId: string;
  agent: string;
  agentVersion: string;
  tenant: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  modelCalls: number;
  toolCalls: number;
  toolErrors: number;
  retries: number;
  escalations: number;
  denials: number;
  errorCode: string | null;
  tools: string[];
  path: string[];
};

/** A run's trace: its spans (ids, parents, times, attributes) and its summary row. */
export type RunTrace = { runId: string; traceId: string; spans: KeelSpan[] };

/** Filters of a decision-path search; every one given must hold. */
export type RunSearch = {
  /** Only runs acting for this tenant (the control plane always sets it). */
  tenant?: string;
  agent?: string;
  version?: string;
  /** Final status (outcome): completed, failed, cancelled, budget_exceeded, or running/suspended/queued. */
  status?: string;
  /** Decision-path steps that must appear in this order. */
  path?: readonly PathStep[];
  /** Tools the run called, each of them. */
  tools?: readonly string[];
  /** A policy outcome that must appear on the path: allowed, denied, review, approved, rejected. */
  policy?: string;
  hasErrors?: boolean;
  minRetries?: number;
  escalated?: boolean;
  minCostUsd?: number;
  maxCostUsd?: number;
  minDurationMs?: number;
  maxDurationMs?: number;
  since?: Date;
  until?: Date;
  /** Only the runs of the tree under this run: itself and every run it or its descendants started. */
  tree?: string;
  limit?: number;
};

/** Latency and cost percentiles of one agent version's ended runs. */
export type AgentPercentiles = {
  agent: string;
  version: string;
  runs: number;
  latencyMs: { p50: number; p95: number; p99: number };
  costUsd: { p50: number; p95: number; p99: number };
};

export type CostGroup = "agent" | "model" | "phase" | "day";

/** Reads over the telemetry projections and the journal: traces, search, top-N, percentiles, costs, rates. */
export type TelemetryQueries = {
  traceOfRun(runId: string): Promise<RunTrace | null>;
  /** Every run in a trace (several runs can share a caller's trace); with `tenant`, only that tenant's runs. */
  traceById(traceId: string, options?: { tenant?: string }): Promise<RunTrace[]>;
  searchRuns(search: RunSearch): Promise<RunRow[]>;
  topRuns(options: {
    by: "cost" | "duration";
    limit?: number;
    agent?: string;
    since?: Date;
    until?: Date;
    tenant?: string;
  }): Promise<RunRow[]>;
  percentiles(options: {
    agent?: string;
    since?: Date;
    until?: Date;
    tenant?: string;
  }): Promise<AgentPercentiles[]>;
  costs(options: {
    by: readonly CostGroup[];
    since?: Date;
    until?: Date;
    agent?: string;
    tenant?: string;
    /** Only the calls of the runs of the tree under this run (a workflow run and its child runs). */
    tree?: string;
  }): Promise<
    (Partial<Record<CostGroup, string>> & {
      costUsd: number;
      calls: number;
      inputTokens: number;
      outputTokens: number;
    })[]
  >;
  /** Per agent: cost per resolved (completed) run, escalation rate, tool-failure rate, error rate. */
  rates(options: { since?: Date; until?: Date; agent?: string; tenant?: string }): Promise<
    {
      agent: string;
      runs: number;
      completed: number;
      costUsd: number;
      costPerResolvedUsd: number | null;
      escalationRate: number;
      toolFailureRate: number;
      errorRate: number;
    }[]
  >;
  /** Runs started, completed and failed, and latency, per bucket of a window; its drift alarms and guard flags. */
  activity(options: {
    since: Date;
    until: Date;
    bucket: ActivityBucket;
    agent?: string;
    tenant?: string;
  }): Promise<Activity>;
};

const RUN_COLUMNS = `run_id, trace_id, agent, agent_version, tenant, status, started_at, ended_at, duration_ms,
  cost_nano_usd, input_tokens, output_tokens, model_calls, tool_calls, tool_errors, retries, escalations, denials,
  error_code, tools, path`;

type Row = Record<string, unknown>;

export function createTelemetryQueries(options: {
  store: Pick<Store, "sql" | "readEvents">;
}): TelemetryQueries {
  const { store } = options;
  const sql: SqlClient = store.sql;

  const traceOfRun = async (runId: string): Promise<RunTrace | null> => {
    const events = (await store.readEvents({ runId })) as TelemetryEvent[];
    const spans = buildRunSpans(events);
    const root = spans[0];
    if (!root) return null;
    return { runId, traceId: root.traceId, spans };
  };

  return {
    traceOfRun,
    activity: (options) => queryActivity(sql, options),
    async traceById(traceId, options = {}) {
      if (!/^[0-9a-f]{32}$/.test(traceId))
        throw new KeelError("invalid_request", "a trace id is 32 hex digits");
      // Two index lookups: the trace's runs by the trace-id index, then their events by primary key. (A join lets
      // the planner pick a scan of the whole journal when its statistics are stale.)
      const { rows: runs } = await sql.query<{ run_id: string }>(
        `SELECT run_id FROM keel_telemetry_runs WHERE trace_id = $1 AND ($2::text IS NULL OR tenant = $2::text)
          ORDER BY started_at LIMIT 100`,
        [traceId, options.tenant ?? null],
      );
      if (runs.length === 0) return [];
      const { rows } = await sql.query<{
        run_id: string;
        seq: number;
        type: string;
        at: Date | string;
        payload: unknown;
      }>(
        "SELECT run_id, seq, type, at, payload::json AS payload FROM keel_events WHERE run_id = ANY($1::text[]) ORDER BY run_id, seq",
        [runs.map((run) => run.run_id)],
      );
      const byRun = new Map<string, TelemetryEvent[]>();
      for (const row of rows) {
        const events = byRun.get(row.run_id) ?? [];
        byRun.set(row.run_id, events);
        events.push({
          runId: row.run_id,
          seq: Number(row.seq),
          type: row.type,
          at: new Date(row.at).toISOString(),
          payload: row.payload,
        } as TelemetryEvent);
      }
      return runs.flatMap(({ run_id: runId }) => {
        const events = byRun.get(runId) ?? [];
        const spans = buildRunSpans(events);
        return spans.length === 0 ? [] : [{ runId, traceId: spans[0]?.traceId ?? traceId, spans }];
      });
    },
    async searchRuns(search) {
      const conditions: string[] = [];
      const params: unknown[] = [];
      const add = (condition: (placeholder: string) => string, value: unknown) => {
        params.push(value);
        conditions.push(condition(`$${params.length}`));
      };
      if (search.tenant !== undefined) add((p) => `tenant = ${p}`, search.tenant);
      if (search.agent !== undefined) add((p) => `agent = ${p}`, search.agent);
      if (search.version !== undefined) add((p) => `agent_version = ${p}`, search.version);
      if (search.status !== undefined) add((p) => `status = ${p}`, search.status);
      if (search.since !== undefined) add((p) => `started_at >= ${p}`, search.since);
      if (search.until !== undefined) add((p) => `started_at < ${p}`, search.until);
      const tools = [
        ...(search.tools ?? []),
        ...(search.path ?? []).map((step) => step.tool).filter((tool) => tool !== "*"),
      ];
      if (tools.length > 0) add((p) => `tools @> ${p}::text[]`, [...new Set(tools)]);
      if (search.path && search.path.length > 0) add((p) => `path LIKE ${p}`, pathPattern(search.path));
      if (search.policy !== undefined) add((p) => `path LIKE ${p}`, `%:${search.policy}|%`);
      if (search.hasErrors === true)
        conditions.push("(tool_errors > 0 OR status IN ('failed', 'budget_exceeded'))");
      if (search.hasErrors === false)
        conditions.push("(tool_errors = 0 AND status NOT IN ('failed', 'budget_exceeded'))");
      if (search.minRetries !== undefined) add((p) => `retries >= ${p}`, search.minRetries);
      if (search.escalated === true) conditions.push("escalations > 0");
      if (search.escalated === false) conditions.push("escalations = 0");
      if (search.minCostUsd !== undefined)
        add((p) => `cost_nano_usd >= ${p}`, Math.round(search.minCostUsd * 1e9));
      if (search.maxCostUsd !== undefined)
        add((p) => `cost_nano_usd <= ${p}`, Math.round(search.maxCostUsd * 1e9));
      if (search.minDurationMs !== undefined) add((p) => `duration_ms >= ${p}`, search.minDurationMs);
      if (search.maxDurationMs !== undefined) add((p) => `duration_ms <= ${p}`, search.maxDurationMs);
      if (search.tree !== undefined) add((p) => `run_id IN (${runsOfTree(p)})`, search.tree);
      params.push(clampLimit(search.limit));
      const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
      const { rows } = await sql.query<Row>(
        `SELECT ${RUN_COLUMNS} FROM keel_telemetry_runs ${where} ORDER BY started_at DESC, run_id DESC LIMIT $${params.length}`,
        params,
      );
      return rows.map(toRunRow);
    },
    async topRuns({ by, limit, agent, since, until, tenant }) {
      const { where, params } = window({ agent, since, until, tenant });
      const order = by === "cost" ? "cost_nano_usd" : "duration_ms";
      params.push(clampLimit(limit ?? 10));
      const { rows } = await sql.query<Row>(
        `SELECT ${RUN_COLUMNS} FROM keel_telemetry_runs ${where} ${where ? "AND" : "WHERE"} ${order} IS NOT NULL
          ORDER BY ${order} DESC, run_id LIMIT $${params.length}`,
        params,
      );
      return rows.map(toRunRow);
    },
    async percentiles({ agent, since, until, tenant }) {
      const { where, params } = window({ agent, since, until, tenant });
      const { rows } = await sql.query<Row>(
        `SELECT agent, agent_version, count(*)::int AS runs,
                percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) AS latency,
                percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY cost_nano_usd) AS cost
           FROM keel_telemetry_runs ${where} ${where ? "AND" : "WHERE"} ended_at IS NOT NULL
          GROUP BY agent, agent_version ORDER BY agent, agent_version`,
        params,
      );
      return rows.map((row) => {
        const latency = (row.latency as number[]).map(Number);
        const cost = (row.cost as number[]).map((value) => Number(value) / 1e9);
        return {
          agent: String(row.agent),
          version: String(row.agent_version),
          runs: Number(row.runs),
          latencyMs: { p50: latency[0] ?? 0, p95: latency[1] ?? 0, p99: latency[2] ?? 0 },
          costUsd: { p50: cost[0] ?? 0, p95: cost[1] ?? 0, p99: cost[2] ?? 0 },
        };
      });
    },
    async costs({ by, since, until, agent, tenant, tree }) {
      const groups = [...new Set(by)];
      if (groups.length === 0)
        throw new KeelError("invalid_request", "group costs by at least one of agent, model, phase, day");
      const columns: Record<CostGroup, string> = {
        agent: "agent",
        model: "provider || '/' || model",
        phase: "phase",
        day: "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
      };
      const conditions: string[] = [];
      const params: unknown[] = [];
      if (agent !== undefined) conditions.push(`agent = $${params.push(agent)}`);
      if (since !== undefined) conditions.push(`at >= $${params.push(since)}`);
      if (until !== undefined) conditions.push(`at < $${params.push(until)}`);
      // Model calls carry no tenant of their own: they are their run's, as the run projection records it.
      if (tenant !== undefined)
        conditions.push(
          `run_id IN (SELECT run_id FROM keel_telemetry_runs WHERE tenant = $${params.push(tenant)})`,
        );
      if (tree !== undefined) conditions.push(`run_id IN (${runsOfTree(`$${params.push(tree)}`)})`);
      const select = groups.map((group) => `${columns[group]} AS ${group}`).join(", ");
      const { rows } = await sql.query<Row>(
        `SELECT ${select}, sum(cost_nano_usd)::float8 AS cost, count(*)::int AS calls,
                sum(input_tokens)::float8 AS input_tokens, sum(output_tokens)::float8 AS output_tokens
           FROM keel_telemetry_model_calls ${conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : ""}
          GROUP BY ${groups.map((_, index) => index + 1).join(", ")}
          ORDER BY cost DESC`,
        params,
      );
      return rows.map((row) => ({
        ...Object.fromEntries(groups.map((group) => [group, String(row[group])])),
        costUsd: Number(row.cost) / 1e9,
        calls: Number(row.calls),
        inputTokens: Number(row.input_tokens),
        outputTokens: Number(row.output_tokens),
      }));
    },
    async rates({ since, until, agent, tenant }) {
      const { where, params } = window({ agent, since, until, tenant });
      const { rows } = await sql.query<Row>(
        `SELECT agent, count(*)::int AS runs,
                count(*) FILTER (WHERE status = 'completed')::int AS completed,
                count(*) FILTER (WHERE status IN ('failed', 'budget_exceeded'))::int AS errored,
                count(*) FILTER (WHERE escalations > 0)::int AS escalated,
                sum(cost_nano_usd)::float8 AS cost, sum(tool_calls)::float8 AS tool_calls,
                sum(tool_errors)::float8 AS tool_errors
           FROM keel_telemetry_runs ${where} GROUP BY agent ORDER BY agent`,
        params,
      );
      return rows.map((row) => {
        const runs = Number(row.runs);
        const completed = Number(row.completed);
        const costUsd = Number(row.cost) / 1e9;
        const toolCalls = Number(row.tool_calls);
        return {
          agent: String(row.agent),
          runs,
          completed,
          costUsd,
          costPerResolvedUsd: completed === 0 ? null : costUsd / completed,
          escalationRate: runs === 0 ? 0 : Number(row.escalated) / runs,
          toolFailureRate: toolCalls === 0 ? 0 : Number(row.tool_errors) / toolCalls,
          errorRate: runs === 0 ? 0 : Number(row.errored) / runs,
        };
      });
    },
  };
}

function window(options: {
  tenant?: string | undefined;
  agent?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}): {
  where: string;
  params: unknown[];
} {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (options.tenant !== undefined) conditions.push(`tenant = $${params.push(options.tenant)}`);
  if (options.agent !== undefined) conditions.push(`agent = $${params.push(options.agent)}`);
  if (options.since !== undefined) conditions.push(`started_at >= $${params.push(options.since)}`);
  if (options.until !== undefined) conditions.push(`started_at < $${params.push(options.until)}`);
  return { where: conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "", params };
}

/**
 * The run ids of the tree under a run: the run and, recursively, the children its nodes started — walked down the
 * parent index (`keel_runs_parent_idx`), so a tree costs its own size to read, however many runs the store holds.
 */
function runsOfTree(placeholder: string): string {
  return `WITH RECURSIVE tree (run_id) AS (
             SELECT run_id FROM keel_runs WHERE run_id = ${placeholder}
             UNION ALL
             SELECT child.run_id FROM keel_runs AS child JOIN tree ON child.parent_run_id = tree.run_id
           ) SELECT run_id FROM tree`;
}

function clampLimit(limit: number | undefined): number {
  const value = limit ?? 50;
  if (!Number.isInteger(value) || value < 1 || value > 1_000) {
    throw new KeelError("invalid_request", "limit must be an integer from 1 to 1000");
  }
  return value;
}

function toRunRow(row: Row): RunRow {
  const iso = (value: unknown) => (value === null ? null : new Date(value as string | Date).toISOString());
  const path = String(row.path);
  return {
    runId: String(row.run_id),
    traceId: String(row.trace_id),
    agent: String(row.agent),
    agentVersion: String(row.agent_version),
    tenant: String(row.tenant),
    status: String(row.status),
    startedAt: iso(row.started_at)!,
    endedAt: iso(row.ended_at),
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    costUsd: Number(row.cost_nano_usd) / 1e9,
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    modelCalls: Number(row.model_calls),
    toolCalls: Number(row.tool_calls),
    toolErrors: Number(row.tool_errors),
    retries: Number(row.retries),
    escalations: Number(row.escalations),
    denials: Number(row.denials),
    errorCode: row.error_code === null ? null : String(row.error_code),
    tools: row.tools as string[],
    path: path.split("|").filter((step) => step.length > 0),
  };
}
