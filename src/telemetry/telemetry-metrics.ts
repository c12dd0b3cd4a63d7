import { Counter, collectDefaultMetrics, Gauge, Histogram, type Registry } from "prom-client";
import type { PayloadOf, Usage } from "../journal/index.ts";
import type { SqlClient } from "../store/index.ts";
import { DRIFT_MONITOR_AGENT, readDriftAlarm } from "./drift-alarm.ts";
import { type TelemetryEvent, timeOf } from "./telemetry-event.ts";

/** A circuit breaker as the model gateway reports it. */
export type BreakerReading = {
  provider: string;
  model: string;
  state: "closed" | "open" | "half-open" | "isolated";
};

const BREAKER_VALUE = { closed: 0, "half-open": 1, open: 2, isolated: 3 } as const;

export type TelemetryMetricsOptions = {
  /** The one registry `GET /metrics` serves, owned by whoever assembles Keel; every family registers on it. */
  registry: Registry;
  /** The projection tables' database, read at scrape time for gauges (active runs, pending approvals, budgets). */
  sql?: SqlClient;
  /** Circuit breakers of the model gateway, read at scrape time; absent without a gateway. */
  breakers?: () => readonly BreakerReading[];
  /** Node.js process metrics (`process_*`, `nodejs_*`) beside Keel's; off by default. */
  processMetrics?: boolean;
  /** The clock used for "today" in budget gauges. */
  now?: () => Date;
};

/**
 * One model call as the OpenTelemetry GenAI client metrics count it: an agent's, projected from its journal, or one
 * through the OpenAI-compatible endpoint (`agent` is then the caller, `key:<id>`).
 */
export type GenAiCall = {
  agent: string;
  phase: string;
  /** The provider and model that answered (after any failover), or the first target tried when none did. */
  provider: string;
  model: string;
  durationMs: number;
  /** The error code of a failed call; absent when it succeeded. */
  errorType?: string;
  usage?: Usage;
};

/**
 * The metrics Keel serves on `GET /metrics`, all projected from the journal except breakers, the exporter's and the
 * OpenAI-compatible endpoint's model calls. Model calls use the OpenTelemetry GenAI client metrics
 * (`gen_ai.client.token.usage`, `gen_ai.client.operation.duration`, in Prometheus form); everything else is named
 * `keel_*`.
 */
export type TelemetryMetrics = {
  readonly registry: Registry;
  /** Count the events a run appended after `afterSeq`; `events` is the run's whole journal, for lookups. */
  observeRun(events: readonly TelemetryEvent[], afterSeq: number): void;
  /**
   * Count a model call that has no journal in the GenAI client metrics: the OpenAI-compatible endpoint's. Agents'
   * calls are counted from their journals by `observeRun`.
   */
  observeModelCall(call: GenAiCall): void;
  /** Spans handed to the exporter, and spans it could not deliver, by reason. */
  spansExported(count: number): void;
  spansDropped(count: number, reason: "queue_full" | "export_failed" | "shutdown"): void;
  setExportQueue(size: number): void;
  driftScore(agent: string, dimension: string, psi: number): void;
  driftAlert(agent: string, dimension: string): void;
  /** The Prometheus text exposition. */
  scrape(): Promise<string>;
};

/** Build the registry and its metrics. Counters count what this process projected; Prometheus sums instances. */
export function createTelemetryMetrics(options: TelemetryMetricsOptions): TelemetryMetrics {
  const { registry } = options;
  const now = options.now ?? (() => new Date());
  const sql = options.sql;
  const tasks = new Counter({
    name: "keel_runs_total",
    help: "Runs that ended, by agent, version and final status.",
    labelNames: ["agent", "version", "status"],
    registers: [registry],
  });
  const shadowRuns = new Counter({
    name: "keel_shadow_runs_total",
    help: "Shadow runs that ended (a candidate version on a copy of a live run's input), by agent, version and final status; never counted in keel_runs_total.",
    labelNames: ["agent", "version", "status"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "keel_run_duration_seconds",
    help: "Wall time from run-start to run-end, waits for people included.",
    labelNames: ["agent", "version"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600],
    registers: [registry],
  });
  const cost = new Counter({
    name: "keel_model_cost_usd_total",
    help: "Model spend in US dollars, priced from the journaled usage, by agent, provider and model.",
    labelNames: ["agent", "provider", "model"],
    registers: [registry],
  });
  // OpenTelemetry GenAI semantic conventions: attribute dots become underscores, seconds get their unit suffix.
  const operationDuration = new Histogram({
    name: "gen_ai_client_operation_duration_seconds",
    help: "GenAI operation duration (gen_ai.client.operation.duration): model calls of agents and of the OpenAI-compatible endpoint (agent key:<id>) by agent, provider, model and error type.",
    labelNames: [
      "gen_ai_operation_name",
      "gen_ai_provider_name",
      "gen_ai_request_model",
      "error_type",
      "agent",
      "phase",
    ],
    buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
    registers: [registry],
  });
  const tokenUsage = new Histogram({
    name: "gen_ai_client_token_usage",
    help: "Tokens per model call of agents and of the OpenAI-compatible endpoint (gen_ai.client.token.usage) by token type; input counts cache reads and writes, which are also observed alone.",
    labelNames: [
      "gen_ai_operation_name",
      "gen_ai_provider_name",
      "gen_ai_request_model",
      "gen_ai_token_type",
      "agent",
      "phase",
    ],
    buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
    registers: [registry],
  });
  const toolCalls = new Counter({
    name: "keel_tool_calls_total",
    help: "Tool calls that ended, by agent, tool and outcome (ok, error, denied, in_doubt).",
    labelNames: ["agent", "tool", "outcome"],
    registers: [registry],
  });
  const policy = new Counter({
    name: "keel_policy_decisions_total",
    help: "Governor decisions by agent, action kind and outcome (allow, review, deny).",
    labelNames: ["agent", "action", "decision"],
    registers: [registry],
  });
  const escalations = new Counter({
    name: "keel_escalations_total",
    help: "Escalations by agent and kind: model_cascade (to a bigger model) or human_review (held for a person).",
    labelNames: ["agent", "kind"],
    registers: [registry],
  });
  const approvalDecision = new Histogram({
    name: "keel_approval_decision_seconds",
    help: "Time from a run being held for a person to its decision (or resume).",
    labelNames: ["agent"],
    buckets: [1, 10, 30, 60, 300, 900, 1800, 3600, 14400, 86400],
    registers: [registry],
  });
  const guardFindings = new Counter({
    name: "keel_guard_findings_total",
    help: "Guard findings by agent, detector (kind), where they were found, the action taken and the strongest class.",
    labelNames: ["agent", "kind", "where", "action", "class"],
    registers: [registry],
  });
  const budgetAlerts = new Counter({
    name: "keel_budget_alerts_total",
    help: "Budget thresholds crossed, by scope kind (run, agent, tenant) and threshold.",
    labelNames: ["scope_kind", "threshold"],
    registers: [registry],
  });
  const driftPsi = new Gauge({
    name: "keel_drift_psi",
    help: "Population stability index of a distribution against its baseline window, by agent and dimension.",
    labelNames: ["agent", "dimension"],
    registers: [registry],
  });
  const driftAlerts = new Counter({
    name: "keel_drift_alerts_total",
    help: "Drift alarms raised (and journaled), by agent and dimension.",
    labelNames: ["agent", "dimension"],
    registers: [registry],
  });
  const exported = new Counter({
    name: "keel_telemetry_spans_exported_total",
    help: "Spans the OTLP exporter delivered to the collector.",
    registers: [registry],
  });
  const dropped = new Counter({
    name: "keel_telemetry_spans_dropped_total",
    help: "Spans not delivered, by reason: queue_full (back-pressure), export_failed, shutdown.",
    labelNames: ["reason"],
    registers: [registry],
  });
  for (const reason of ["queue_full", "export_failed", "shutdown"]) dropped.inc({ reason }, 0);
  const queue = new Gauge({
    name: "keel_telemetry_export_queue_spans",
    help: "Spans waiting in the export queue.",
    registers: [registry],
  });
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  registerScrapeGauges(registry, { sql, now, ...(options.breakers ? { breakers: options.breakers } : {}) });

  return {
    registry,
    observeRun(events, afterSeq) {
      const first = events[0];
      if (first?.type !== "run-start") return;
      const agent = first.payload.agent;
      const version = first.payload.agentVersion;
      if (agent === DRIFT_MONITOR_AGENT) {
        // A drift alarm, journaled as a monitor run: counted as the alarm, not as an agent's task.
        for (const event of events) {
          if (event.seq <= afterSeq || event.type !== "run-end") continue;
          const alarm = readDriftAlarm(event.payload.answer);
          for (const item of alarm?.dimensions ?? [])
            driftAlerts.inc({ agent: alarm!.agent, dimension: item.dimension });
        }
        return;
      }
      let suspendedAt: number | null = null;
      for (const event of events) {
        const fresh = event.seq > afterSeq;
        switch (event.type) {
          case "run-suspend":
            suspendedAt = event.payload.pendingAction ? timeOf(event) : suspendedAt;
            break;
          case "run-resume":
            if (suspendedAt !== null && fresh)
              approvalDecision.observe({ agent }, (timeOf(event) - suspendedAt) / 1000);
            suspendedAt = null;
            break;
          default:
            break;
        }
        if (!fresh) continue;
        if (first.payload.shadowOf !== undefined) observeShadowEvent(event, agent, version);
        else observeEvent(event, agent, version, first.at);
      }
    },
    spansExported(count) {
      exported.inc(count);
    },
    spansDropped(count, reason) {
      dropped.inc({ reason }, count);
    },
    setExportQueue(size) {
      queue.set(size);
    },
    driftScore(agent, dimension, psi) {
      driftPsi.set({ agent, dimension }, psi);
    },
    driftAlert(agent, dimension) {
      driftAlerts.inc({ agent, dimension });
    },
    observeModelCall: observeGenAi,
    scrape: () => registry.metrics(),
  };

  /**
   * A shadow run reached no user and acted on nothing: its end is counted apart, and its decisions, tool calls and
   * guard findings stay out of the live agent's figures (the shadow report compares them). Its model calls were
   * made and paid for, so they count as any.
   */
  function observeShadowEvent(event: TelemetryEvent, agent: string, version: string): void {
    if (event.type === "run-end") shadowRuns.inc({ agent, version, status: event.payload.status });
    else if (event.type === "model-call-end") observeModelCall(agent, event.payload);
  }

  function observeEvent(event: TelemetryEvent, agent: string, version: string, startedAt: string): void {
    switch (event.type) {
      case "run-end":
        tasks.inc({ agent, version, status: event.payload.status });
        duration.observe({ agent, version }, (timeOf(event) - Date.parse(startedAt)) / 1000);
        return;
      case "model-call-end":
        observeModelCall(agent, event.payload);
        return;
      case "tool-call-end": {
        const code = event.payload.error?.code;
        const outcome =
          event.payload.outcome === "ok" ? "ok" : code === "denied" || code === "in_doubt" ? code : "error";
        toolCalls.inc({ agent, tool: event.payload.tool, outcome });
        return;
      }
      case "policy-decision": {
        const action = event.payload.callId !== undefined ? "tool-call" : event.payload.action.split(":")[0]!;
        policy.inc({ agent, action, decision: event.payload.decision });
        if (event.payload.decision === "review") escalations.inc({ agent, kind: "human_review" });
        return;
      }
      case "budget-alert":
        budgetAlerts.inc({
          scope_kind: event.payload.scope.split(":")[0]!,
          threshold: String(event.payload.threshold),
        });
        return;
      case "guard-flag":
        guardFindings.inc({
          agent,
          kind: event.payload.detector,
          where: event.payload.where,
          action: event.payload.action,
          class: event.payload.classes[0] ?? "unknown",
        });
        return;
      default:
        return;
    }
  }

  function observeModelCall(agent: string, payload: PayloadOf<"model-call-end">): void {
    observeGenAi({
      agent,
      phase: payload.phase ?? "execution",
      provider: payload.provider,
      model: payload.model,
      durationMs: payload.durationMs,
      ...(payload.outcome === "ok" ? {} : { errorType: payload.error?.code ?? "error" }),
      ...(payload.usage ? { usage: payload.usage } : {}),
    });
    if (payload.cost) cost.inc({ agent, provider: payload.provider, model: payload.model }, payload.cost.usd);
    const cascaded = payload.escalations?.length ?? 0;
    if (cascaded > 0) escalations.inc({ agent, kind: "model_cascade" }, cascaded);
  }

  function observeGenAi(call: GenAiCall): void {
    const labels = {
      gen_ai_operation_name: "chat",
      gen_ai_provider_name: call.provider,
      gen_ai_request_model: call.model,
      agent: call.agent,
      phase: call.phase,
    };
    operationDuration.observe(
      call.errorType === undefined ? labels : { ...labels, error_type: call.errorType },
      call.durationMs / 1000,
    );
    const usage = call.usage;
    if (usage) {
      const observe = (type: string, tokens: number | undefined, always: boolean) => {
        if (always || (tokens ?? 0) > 0)
          tokenUsage.observe({ ...labels, gen_ai_token_type: type }, tokens ?? 0);
      };
      observe("input", usage.inputTokens, true);
      observe("output", usage.outputTokens, true);
      observe("cache_read", usage.cacheReadTokens, false);
      observe("cache_write", usage.cacheWriteTokens, false);
      observe("reasoning", usage.reasoningTokens, false);
    }
  }
}

/** Gauges read when Prometheus scrapes: they describe now, not what happened, so they are queried, not counted. */
function registerScrapeGauges(
  registry: Registry,
  options: { sql: SqlClient | undefined; now: () => Date; breakers?: () => readonly BreakerReading[] },
): void {
  const { sql, now } = options;
  new Gauge({
    name: "keel_runs_active",
    help: "Runs queued or running now, by agent.",
    labelNames: ["agent"],
    registers: [registry],
    async collect() {
      this.reset();
      if (!sql) return;
      const { rows } = await sql.query<{ agent: string; count: string }>(
        `SELECT agent, count(*)::text AS count FROM keel_telemetry_runs
          WHERE status IN ('queued', 'running') GROUP BY agent`,
      );
      for (const row of rows) this.set({ agent: row.agent }, Number(row.count));
    },
  });
  new Gauge({
    name: "keel_runs_awaiting_approval",
    help: "Runs held for a person's decision now, by agent.",
    labelNames: ["agent"],
    registers: [registry],
    async collect() {
      this.reset();
      if (!sql) return;
      const { rows } = await sql.query<{ agent: string; count: string }>(
        `SELECT agent, count(*)::text AS count FROM keel_telemetry_runs WHERE status = 'suspended' GROUP BY agent`,
      );
      for (const row of rows) this.set({ agent: row.agent }, Number(row.count));
    },
  });
  new Gauge({
    name: "keel_budget_utilisation_ratio",
    help: "Spend over the cap of each agent and tenant budget for the current UTC day (1 = exhausted).",
    labelNames: ["scope"],
    registers: [registry],
    async collect() {
      this.reset();
      if (!sql) return;
      const { rows } = await sql.query<{ scope: string; ratio: number }>(
        `SELECT scope, spent_nano_usd::float8 / (limit_usd * 1e9) AS ratio FROM keel_telemetry_budgets
          WHERE period = $1 AND limit_usd > 0`,
        [now().toISOString().slice(0, 10)],
      );
      for (const row of rows) this.set({ scope: row.scope }, Number(row.ratio));
    },
  });
  const breakers = options.breakers;
  new Gauge({
    name: "keel_circuit_breaker_state",
    help: "Model target circuit breakers: 0 closed, 1 half-open, 2 open, 3 isolated.",
    labelNames: ["provider", "model"],
    registers: [registry],
    collect() {
      this.reset();
      for (const reading of breakers?.() ?? []) {
        this.set({ provider: reading.provider, model: reading.model }, BREAKER_VALUE[reading.state]);
      }
    },
  });
}
