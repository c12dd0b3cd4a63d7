// telemetry/: what runs look like from outside: journal projections to OpenTelemetry spans and metrics,
// run summaries, decision-path queries, and drift monitoring over production runs.
export { parsePathQuery } from "./decision-path.ts";
export { checkDrift, type DriftCheck, type DriftWindow } from "./drift-monitor.ts";
export { createJournalProjector, type JournalProjector } from "./journal-projector.ts";
export { createOtlpTraceExporter } from "./otlp-trace-exporter.ts";
export type { Activity, ActivityBucket } from "./query-activity.ts";
export { type BreakerReading, createTelemetryMetrics, type TelemetryMetrics } from "./telemetry-metrics.ts";
export { type CostGroup, createTelemetryQueries, type TelemetryQueries } from "./telemetry-queries.ts";
export type { TraceExporter } from "./trace-exporter.ts";
