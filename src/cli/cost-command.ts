import { parseArgs } from "node:util";
import { KeelError } from "../errors/index.ts";
import { connectApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";

export const COSTS_USAGE = `usage:
  keel costs [--by agent,model,phase,day] [--agent A] [--since 7d] [--until ISO] [--json]
                                   spend grouped by agent, model, phase and/or UTC day
  keel costs top [--limit 10] [--by cost|duration] [--agent A] [--since 24h] [--json]
                                   the most expensive (or slowest) runs
  keel costs percentiles [--agent A] [--since 24h] [--json]
                                   p50/p95/p99 latency and cost per agent version
  keel costs rates [--agent A] [--since 24h] [--json]
                                   cost per resolved run, escalation, error and tool-failure rates`;

/** `keel costs`: cost rollups, top-N runs, percentiles and rates through the HTTP API. */
export async function costsCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: "string" },
      "api-key-file": { type: "string" },
      json: { type: "boolean" },
      by: { type: "string" },
      agent: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      limit: { type: "string" },
    },
  });
  const client = connectApiClient(io, values);
  const query: { agent?: string; since?: string; until?: string } = {};
  for (const name of ["agent", "since", "until"] as const) {
    const value = values[name];
    if (value !== undefined) query[name] = value;
  }
  const view = positionals[0] ?? "rollup";
  const print = (rows: unknown, line: (row: Record<string, unknown>) => string) => {
    if (values.json) io.out(JSON.stringify(rows, null, 2));
    else if ((rows as unknown[]).length === 0) io.out("nothing in this window");
    else for (const row of rows as Record<string, unknown>[]) io.out(line(row));
  };
  const usd = (value: unknown) => `$${Number(value ?? 0).toFixed(4)}`;
  switch (view) {
    case "rollup": {
      const { by, costs } = await client.call("costs", {
        query: { ...query, by: values.by ?? "agent,model" },
      });
      print(
        costs,
        (row) =>
          `${by.map((group) => String(row[group])).join("  ")}  ${usd(row.costUsd)}  ${row.calls} calls`,
      );
      return 0;
    }
    case "top": {
      const { runs } = await client.call("topRuns", {
        query: {
          ...query,
          by: values.by ?? "cost",
          ...(values.limit === undefined ? {} : { limit: values.limit }),
        },
      });
      print(
        runs,
        (run) =>
          `${run.runId}  ${run.agent}@${run.agentVersion}  ${run.status}  ${usd(run.costUsd)}  ${run.durationMs ?? "open"}ms`,
      );
      return 0;
    }
    case "percentiles": {
      const { agents } = await client.call("percentiles", { query });
      print(agents, (row) => {
        const latency = row.latencyMs as Record<string, number>;
        const cost = row.costUsd as Record<string, number>;
        return `${row.agent}@${row.version}  ${row.runs} runs  latency p50 ${latency.p50?.toFixed(0)}ms p95 ${latency.p95?.toFixed(0)}ms p99 ${latency.p99?.toFixed(0)}ms  cost p50 ${usd(cost.p50)} p95 ${usd(cost.p95)} p99 ${usd(cost.p99)}`;
      });
      return 0;
    }
    case "rates": {
      const { agents } = await client.call("rates", { query });
      const percent = (value: unknown) => `${(Number(value) * 100).toFixed(1)}%`;
      print(
        agents,
        (row) =>
          `${row.agent}  ${row.runs} runs  cost per resolved ${row.costPerResolvedUsd === null ? "—" : usd(row.costPerResolvedUsd)}  escalation ${percent(row.escalationRate)}  errors ${percent(row.errorRate)}  tool failures ${percent(row.toolFailureRate)}`,
      );
      return 0;
    }
    default:
      throw new KeelError("invalid_request", COSTS_USAGE);
  }
}
