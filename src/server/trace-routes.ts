import type { Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import type { TelemetryQueries } from "../telemetry/index.ts";
import { parsePathQuery } from "../telemetry/index.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";
import { parseFlag, parseInstant, parseNumber } from "./trace-query-params.ts";

/**
 * Traces over HTTP: a run's span tree (`GET /v1/runs/{id}/trace`), every run of a trace id (`GET /v1/traces/{id}`),
 * and decision-path search over runs (`GET /v1/traces?agent=…&path=issue_refund:denied>issue_refund:approved…`).
 */
export function registerTraceRoutes(app: Hono, options: { queries: TelemetryQueries }): void {
  const { queries } = options;
  registerRoute(app, API_ROUTES.runTrace, async ({ params }, context) => {
    const trace = await queries.traceOfRun(params.id);
    if (!trace) throw new KeelError("not_found", `no run "${params.id}"`);
    return context.json(trace);
  });

  registerRoute(app, API_ROUTES.traceById, async ({ params }, context) => {
    const traceId = params.traceId.toLowerCase();
    const traces = await queries.traceById(traceId, { tenant: principalOf(context).tenant });
    if (traces.length === 0) throw new KeelError("not_found", `no trace "${params.traceId}"`);
    return context.json({ traceId, runs: traces });
  });

  registerRoute(app, API_ROUTES.searchTraces, async ({ query: fields }, context) => {
    const query = (name: keyof typeof fields) => fields[name];
    const path = query("path");
    const tools = query("tool");
    const number = (name: keyof typeof fields) => parseNumber(query(name), name);
    const flag = (name: keyof typeof fields) => parseFlag(query(name), name);
    const since = parseInstant(query("since"), "since");
    const until = parseInstant(query("until"), "until");
    const search = {
      tenant: principalOf(context).tenant,
      ...optional("agent", query("agent")),
      ...optional("version", query("version")),
      ...optional("status", query("status")),
      ...optional("policy", query("policy")),
      ...(path ? { path: parsePathQuery(path) } : {}),
      ...(tools ? { tools: tools.split(",").map((tool) => tool.trim()) } : {}),
      ...optional("hasErrors", flag("errors")),
      ...optional("escalated", flag("escalated")),
      ...optional("minRetries", number("minRetries")),
      ...optional("minCostUsd", number("minCost")),
      ...optional("maxCostUsd", number("maxCost")),
      ...optional("minDurationMs", number("minLatencyMs")),
      ...optional("maxDurationMs", number("maxLatencyMs")),
      ...optional("since", since),
      ...optional("until", until),
      ...optional("tree", query("tree")),
      ...optional("limit", number("limit")),
    };
    return context.json({ runs: await queries.searchRuns(search) });
  });
}

/** `{ [key]: value }` when the value is present, else nothing (for exactOptionalPropertyTypes). */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
