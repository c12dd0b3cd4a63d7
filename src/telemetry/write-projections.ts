import type { SqlClient } from "../store/index.ts";
import { type RunSummary, toNano } from "./summarize-run.ts";
import type { TelemetryEvent } from "./telemetry-event.ts";

/** A run ready to be written: its whole journal, its fold, and how far it had been folded before. */
export type RunFold = { events: TelemetryEvent[]; summary: RunSummary; projectedSeq: number };

/**
 * Write a batch of folded runs in the caller's transaction: each run's summary row is replaced whole (it is a
 * fold of the entire run), model calls are inserted once by (run, seq), and budget spend grows by what the
 * newly folded `budget-settle` events add — the projector lock makes that happen once per event.
 */
export async function writeProjections(sql: SqlClient, runs: readonly RunFold[]): Promise<void> {
  if (runs.length === 0) return;
  await sql.query(
    `INSERT INTO keel_telemetry_runs AS t
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(
         run_id text, trace_id text, agent text, agent_version text, tenant text, status text,
         started_at timestamptz, ended_at timestamptz, duration_ms double precision, cost_nano_usd bigint,
         input_tokens bigint, output_tokens bigint, cache_read_tokens bigint, cache_write_tokens bigint,
         model_calls integer, tool_calls integer, tool_errors integer, retries integer, escalations integer,
         denials integer, error_code text, tools text[], path text, projected_seq integer)
     ON CONFLICT (run_id) DO UPDATE SET
       status = EXCLUDED.status, ended_at = EXCLUDED.ended_at, duration_ms = EXCLUDED.duration_ms,
       cost_nano_usd = EXCLUDED.cost_nano_usd, input_tokens = EXCLUDED.input_tokens,
       output_tokens = EXCLUDED.output_tokens, cache_read_tokens = EXCLUDED.cache_read_tokens,
       cache_write_tokens = EXCLUDED.cache_write_tokens, model_calls = EXCLUDED.model_calls,
       tool_calls = EXCLUDED.tool_calls, tool_errors = EXCLUDED.tool_errors, retries = EXCLUDED.retries,
       escalations = EXCLUDED.escalations, denials = EXCLUDED.denials, error_code = EXCLUDED.error_code,
       tools = EXCLUDED.tools, path = EXCLUDED.path, projected_seq = EXCLUDED.projected_seq
     WHERE t.projected_seq < EXCLUDED.projected_seq`,
    [
      JSON.stringify(
        runs.map(({ summary }) => ({
          run_id: summary.runId,
          trace_id: summary.traceId,
          agent: summary.agent,
          agent_version: summary.agentVersion,
          tenant: summary.tenant,
          status: summary.status,
          started_at: summary.startedAt,
          ended_at: summary.endedAt,
          duration_ms: summary.durationMs,
          cost_nano_usd: summary.costNanoUsd,
          input_tokens: summary.inputTokens,
          output_tokens: summary.outputTokens,
          cache_read_tokens: summary.cacheReadTokens,
          cache_write_tokens: summary.cacheWriteTokens,
          model_calls: summary.modelCalls,
          tool_calls: summary.toolCalls,
          tool_errors: summary.toolErrors,
          retries: summary.retries,
          escalations: summary.escalations,
          denials: summary.denials,
          error_code: summary.errorCode,
          tools: summary.tools,
          path: encodePath(summary.path),
          projected_seq: summary.lastSeq,
        })),
      ),
    ],
  );
  const calls = runs.flatMap((run) => modelCallRows(run));
  if (calls.length > 0) {
    await sql.query(
      `INSERT INTO keel_telemetry_model_calls
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(
           run_id text, seq integer, at timestamptz, agent text, agent_version text, provider text, model text,
           phase text, outcome text, input_tokens integer, output_tokens integer, cache_read_tokens integer,
           cache_write_tokens integer, cost_nano_usd bigint, duration_ms double precision)
       ON CONFLICT (run_id, seq) DO NOTHING`,
      [JSON.stringify(calls)],
    );
  }
  const budgets = budgetDeltas(runs);
  if (budgets.length > 0) {
    await sql.query(
      `INSERT INTO keel_telemetry_budgets AS b (scope, period, limit_usd, spent_nano_usd)
         SELECT scope, period, limit_usd, spent_nano_usd FROM jsonb_to_recordset($1::jsonb)
           AS r(scope text, period text, limit_usd double precision, spent_nano_usd bigint)
       ON CONFLICT (scope, period) DO UPDATE SET
         spent_nano_usd = b.spent_nano_usd + EXCLUDED.spent_nano_usd,
         limit_usd = COALESCE(EXCLUDED.limit_usd, b.limit_usd)`,
      [JSON.stringify(budgets)],
    );
  }
}

/** The path column: `|tool:verb|tool:verb|`, so each step is delimited on both sides. */
export function encodePath(path: readonly string[]): string {
  return path.length === 0 ? "|" : `|${path.join("|")}|`;
}

function modelCallRows(run: RunFold): Record<string, unknown>[] {
  const { summary } = run;
  const rows: Record<string, unknown>[] = [];
  for (const event of run.events) {
    if (event.seq <= run.projectedSeq || event.type !== "model-call-end") continue;
    const { payload } = event;
    rows.push({
      run_id: summary.runId,
      seq: event.seq,
      at: event.at,
      agent: summary.agent,
      agent_version: summary.agentVersion,
      provider: payload.provider,
      model: payload.model,
      phase: payload.phase ?? "execution",
      outcome: payload.outcome,
      input_tokens: payload.usage?.inputTokens ?? 0,
      output_tokens: payload.usage?.outputTokens ?? 0,
      cache_read_tokens: payload.usage?.cacheReadTokens ?? 0,
      cache_write_tokens: payload.usage?.cacheWriteTokens ?? 0,
      cost_nano_usd: toNano(payload.cost?.usd ?? 0),
      duration_ms: payload.durationMs,
    });
  }
  return rows;
}

type BudgetDelta = { scope: string; period: string; limit_usd: number | null; spent_nano_usd: number };

/** Spend the new `budget-settle` events add to each agent and tenant budget (run budgets are per run: skipped). */
function budgetDeltas(runs: readonly RunFold[]): BudgetDelta[] {
  const deltas = new Map<string, BudgetDelta>();
  for (const run of runs) {
    const reserves = new Map<string, Extract<TelemetryEvent, { type: "budget-reserve" }>["payload"]>();
    for (const event of run.events) {
      if (event.type === "budget-reserve") reserves.set(event.payload.reservationId, event.payload);
      if (event.type !== "budget-settle" || event.seq <= run.projectedSeq) continue;
      for (const ref of reserves.get(event.payload.reservationId)?.scopes ?? []) {
        if (ref.period === "run") continue;
        const key = `${ref.scope}\u0000${ref.period}`;
        const delta = deltas.get(key) ?? {
          scope: ref.scope,
          period: ref.period,
          limit_usd: null,
          spent_nano_usd: 0,
        };
        delta.limit_usd = ref.limitUsd ?? delta.limit_usd;
        delta.spent_nano_usd += toNano(event.payload.usd);
        deltas.set(key, delta);
      }
    }
  }
  return [...deltas.values()];
}
