import type { Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import type {
  DriftCheck,
  DriftWindow,
  JournalProjector,
  TelemetryMetrics,
  TelemetryQueries,
} from "../telemetry/index.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";

/** What the telemetry routes need: the metrics registry, the queries, and the projector to catch up. */
export type TelemetryRoutesOptions = {
  metrics: TelemetryMetrics;
  queries: TelemetryQueries;
  projector?: JournalProjector;
  /** Compare an agent's windows and journal an alarm past the threshold (telemetry/drift-monitor.ts). */
  drift?: (options: {
    agent: string;
    tenant?: string;
    baseline: DriftWindow;
    current: DriftWindow;
    threshold?: number;
  }) => Promise<DriftCheck>;
};

/**
 * `GET /metrics` in the Prometheus text format. The projector catches up first, so a scrape counts every event
 * journaled before it.
 */
export function registerMetricsRoutes(
  app: Hono,
  options: Pick<TelemetryRoutesOptions, "metrics" | "projector" | "drift">,
): void {
  const { drift } = options;
  if (drift) {
    // `POST /v1/telemetry/drift?agent=A&baseline=8d..1d&current=1d`: windows as durations back from now.
    registerRoute(app, API_ROUTES.checkDrift, async ({ query }, context) => {
      const { agent, threshold } = query;
      await options.projector?.catchUp();
      const now = Date.now();
      const [baseFrom, baseTo] = query.baseline.split("..");
      const check = await drift({
        agent,
        // The agent is the caller's own (the gate answers 404 otherwise), so its alarm belongs to that tenant.
        tenant: principalOf(context).tenant,
        baseline: { since: back(baseFrom, now), until: back(baseTo ?? "0s", now) },
        current: { since: back(query.current, now), until: new Date(now + 1) },
        ...(threshold === undefined ? {} : { threshold }),
      });
      return context.json(check);
    });
  }
  registerRoute(app, API_ROUTES.metrics, async (_, context) => {
    await options.projector?.catchUp();
    const body = await options.metrics.scrape();
    return context.body(body, 200, { "content-type": options.metrics.registry.contentType });
  });
}

/** A duration back from now (`8d`, `24h`, `30m`). */
function back(text: string | undefined, now: number): Date {
  const match = /^(\d+)(s|m|h|d)$/.exec(text ?? "");
  if (!match) throw new KeelError("invalid_request", `"${text}" is not a duration such as 24h or 7d`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as "s" | "m" | "h" | "d"];
  return new Date(now - Number(match[1]) * unit);
}
