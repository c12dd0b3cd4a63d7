import { Registry as MetricsRegistry } from "prom-client";
import { memoryMetrics } from "../memory/index.ts";
import { createEnvModelGateway } from "./bind-agent-package.ts";
import { registerServerMetrics } from "./trace-pipeline.ts";

/** Every family a server's `GET /metrics` can serve, registered on a fresh registry with no sources behind it. */
export function everyMetricFamily(): MetricsRegistry {
  const registry = new MetricsRegistry();
  createEnvModelGateway({ env: {}, metrics: registry });
  registerServerMetrics(registry, {});
  memoryMetrics(registry);
  return registry;
}

/** The metric list of docs/observability.md, rendered from the registry so the doc cannot drift from the code. */
export function renderMetricTable(registry: MetricsRegistry = everyMetricFamily()): string {
  const rows = registry
    .getMetricsAsArray()
    .map((metric) => {
      const labels = ((metric as { labelNames?: readonly string[] }).labelNames ?? []).join(", ");
      return `| \`${metric.name}\` | ${metric.type} | ${labels} | ${metric.help.replaceAll("|", "\\|")} |`;
    })
    .sort();
  return ["| metric | type | labels | meaning |", "|---|---|---|---|", ...rows].join("\n");
}
