import type { Context, Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import type { ActivityBucket, CostGroup, TelemetryQueries } from "../telemetry/index.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";
import { parseInstant, parseNumber } from "./trace-query-params.ts";
import { optional } from "./trace-routes.ts";

const GROUPS: readonly CostGroup[] = ["agent", "model", "phase", "day"];

/**
 * Cost and performance views over HTTP: `GET /v1/costs?by=agent,model,phase,day`, the most expensive or slowest
 * runs (`/v1/telemetry/top`), latency and cost percentiles per agent version (`/v1/telemetry/percentiles`) and
 * cost per resolved run, escalation, error and tool-failure rates (`/v1/telemetry/rates`), and runs over time
 * (`/v1/telemetry/activity`, the console's overview).
 */
export function registerCostRoutes(app: Hono, options: { queries: TelemetryQueries }): void {
  const { queries } = options;
  const windowOf = (
    context: Context,
    query: { agent?: string | undefined; since?: string | undefined; until?: string | undefined },
  ) => ({
    tenant: principalOf(context).tenant,
    ...optional("agent", query.agent),
    ...optional("since", parseInstant(query.since, "since")),
    ...optional("until", parseInstant(query.until, "until")),
  });

  registerRoute(app, API_ROUTES.costs, async ({ query }, context) => {
    const by = (query.by ?? "agent").split(",").map((group) => group.trim());
    for (const group of by) {
      if (!GROUPS.includes(group as CostGroup)) {
        throw new KeelError("invalid_request", `by must list some of ${GROUPS.join(", ")}, not "${group}"`, {
          issues: [{ path: "by", message: `expected some of ${GROUPS.join(", ")}` }],
        });
      }
    }
    const rows = await queries.costs({
      by: by as CostGroup[],
      ...windowOf(context, query),
      ...optional("tree", query.tree),
    });
    return context.json({ by, costs: rows });
  });

  registerRoute(app, API_ROUTES.topRuns, async ({ query }, context) => {
    const by = query.by ?? "cost";
    if (by !== "cost" && by !== "duration")
      throw new KeelError("invalid_request", "by must be cost or duration", {
        issues: [{ path: "by", message: "expected cost or duration" }],
      });
    const limit = parseNumber(query.limit, "limit");
    const runs = await queries.topRuns({
      by,
      ...optional("limit", limit),
      ...windowOf(context, query),
    });
    return context.json({ by, runs });
  });

  registerRoute(app, API_ROUTES.percentiles, async ({ query }, context) =>
    context.json({ agents: await queries.percentiles(windowOf(context, query)) }),
  );

  registerRoute(app, API_ROUTES.rates, async ({ query }, context) =>
    context.json({ agents: await queries.rates(windowOf(context, query)) }),
  );

  registerRoute(app, API_ROUTES.activity, async ({ query }, context) => {
    const now = new Date();
    const until = parseInstant(query.until, "until", now) ?? now;
    const since = parseInstant(query.since, "since", now) ?? new Date(until.getTime() - HOUR_MS);
    const bucket = query.bucket ?? defaultBucket(until.getTime() - since.getTime());
    return context.json(
      await queries.activity({
        tenant: principalOf(context).tenant,
        ...optional("agent", query.agent),
        since,
        until,
        bucket,
      }),
    );
  });
}

const HOUR_MS = 3_600_000;

/** Buckets a chart can draw: a minute's up to 3 hours (180), an hour's up to 8 days (192), else a day's. */
function defaultBucket(windowMs: number): ActivityBucket {
  if (windowMs <= 3 * HOUR_MS) return "minute";
  return windowMs <= 8 * 24 * HOUR_MS ? "hour" : "day";
}
