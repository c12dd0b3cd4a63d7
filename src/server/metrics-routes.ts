import type { Hono } from "hono";
import type { JournalProjector } from "../telemetry/journal-projector.ts";
import type { TelemetryMetrics } from "../telemetry/telemetry-metrics.ts";
import type { TelemetryQueries } from "../telemetry/telemetry-queries.ts";

/** What the telemetry routes need: the metrics registry, the queries, and the projector to catch up. */
export type TelemetryRoutesOptions = {
  metrics: TelemetryMetrics;
  queries: TelemetryQueries;
  projector?: JournalProjector;
};

/**
 * `GET /metrics` in the Prometheus text format. The projector catches up first, so a scrape counts every event
 * journaled before it.
 */
export function registerMetricsRoutes(
  app: Hono,
  options: Pick<TelemetryRoutesOptions, "metrics" | "projector">,
): void {
  app.get("/metrics", async (context) => {
    await options.projector?.catchUp();
    const body = await options.metrics.scrape();
    return context.body(body, 200, { "content-type": options.metrics.registry.contentType });
  });
}
