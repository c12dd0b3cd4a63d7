import type { Registry as MetricsRegistry } from "prom-client";
import { registerApprovalMetrics } from "../approvals/index.ts";
import type { ModelGateway } from "../models/index.ts";
import { isRoutedModelProvider } from "../models/index.ts";
import type { Registry as AgentRegistry } from "../registry/index.ts";
import { registerRegistryMetrics } from "../registry/index.ts";
import type { AgentCatalog } from "../runtime/index.ts";
import type { ApprovalQueries, Store } from "../store/index.ts";
import type { TraceExporter } from "../telemetry/index.ts";
import {
  type BreakerReading,
  checkDrift,
  createJournalProjector,
  createOtlpTraceExporter,
  createTelemetryMetrics,
  createTelemetryQueries,
  type JournalProjector,
  type TelemetryMetrics,
} from "../telemetry/index.ts";
import type { TelemetryRoutesOptions } from "./metrics-routes.ts";

/** The telemetry a server runs: routes' dependencies, and how to stop the projector and flush the exporter. */
export type TracePipeline = TelemetryRoutesOptions & {
  projector: JournalProjector;
  exporter: TraceExporter | null;
  close(): Promise<void>;
};

/**
 * Build and start telemetry from the environment: a projector that folds the journal into the query tables and
 * metrics, and — when `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set — OTLP/HTTP
 * export of every span to that collector (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME` as the OTel SDKs
 * read them).
 */
export function startTracePipeline(options: {
  store: Store & ApprovalQueries;
  env: Readonly<Record<string, string | undefined>>;
  agents?: AgentCatalog;
  gateway?: ModelGateway;
  /** The one metrics registry, owned by the composition root; the gateway's families are on it already. */
  registry: MetricsRegistry;
  /** The agent registry, whose versions `GET /metrics` counts. */
  agentRegistry?: AgentRegistry;
  log?: (message: string) => void;
  pollIntervalMs?: number;
}): TracePipeline {
  const { env } = options;
  const breakers = breakerReadings(options.agents, options.gateway);
  const metrics = registerServerMetrics(options.registry, {
    store: options.store,
    ...(options.agentRegistry ? { agentRegistry: options.agentRegistry } : {}),
    ...(breakers ? { breakers } : {}),
  });
  const url = tracesUrl(env);
  const exporter = url
    ? createOtlpTraceExporter({
        url,
        headers: parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS),
        serviceName: env.OTEL_SERVICE_NAME ?? "keel",
        metrics,
      })
    : null;
  const projector = createJournalProjector({
    store: options.store,
    metrics,
    ...(exporter ? { exporter } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
  });
  projector.start();
  return {
    metrics,
    queries: createTelemetryQueries({ store: options.store }),
    projector,
    drift: (check) => checkDrift({ store: options.store, metrics, ...check }),
    exporter,
    async close() {
      await projector.stop();
      await exporter?.shutdown();
    },
  };
}

/**
 * Register every family `GET /metrics` serves but the gateway's (which it registers itself): what the journal
 * projects, and the gauges read from the store, the approval queue and the agent registry at scrape time.
 */
export function registerServerMetrics(
  registry: MetricsRegistry,
  sources: {
    store?: Store & ApprovalQueries;
    agentRegistry?: AgentRegistry;
    breakers?: () => readonly BreakerReading[];
  },
): TelemetryMetrics {
  const { store, agentRegistry, breakers } = sources;
  const metrics = createTelemetryMetrics({
    registry,
    ...(store ? { sql: store.sql } : {}),
    ...(breakers ? { breakers } : {}),
  });
  registerApprovalMetrics(registry, async () => (store ? await store.approvalStats() : []));
  registerRegistryMetrics(registry, async () => (agentRegistry ? await agentRegistry.list() : []));
  return metrics;
}

/** The OTLP/HTTP traces URL from the standard variables, or null when export is not configured. */
export function tracesUrl(env: Readonly<Record<string, string | undefined>>): string | null {
  const signal = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (signal) return signal;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!base) return null;
  return `${base.replace(/\/+$/, "")}/v1/traces`;
}

function parseHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at > 0)
      headers[decodeURIComponent(pair.slice(0, at).trim())] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

/** Every model target the served agents can call, read from the gateway's breakers at scrape time. */
function breakerReadings(
  agents: AgentCatalog | undefined,
  gateway: ModelGateway | undefined,
): (() => BreakerReading[]) | null {
  if (!agents || !gateway) return null;
  return () => {
    const readings = new Map<string, BreakerReading>();
    for (const agent of agents.list()) {
      if (!isRoutedModelProvider(agent.provider)) continue;
      for (const target of [agent.provider.policy.primary, ...agent.provider.policy.fallbacks]) {
        const state = gateway.breakerState(target);
        if (state === "unused") continue;
        readings.set(`${target.provider}/${target.model}`, {
          provider: target.provider,
          model: target.model,
          state,
        });
      }
    }
    return [...readings.values()];
  };
}
