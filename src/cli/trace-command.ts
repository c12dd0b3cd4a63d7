import { parseArgs } from "node:util";
import type { Answer, CallInput } from "../client/index.ts";
import { KeelError } from "../errors/index.ts";
import { connectApiClient } from "./api-client.ts";
import type { CliIo } from "./cli-io.ts";

export const TRACES_USAGE = `usage:
  keel traces show <run-id | trace-id> [--json]
                                   a run's span tree: names, times, tokens, cost, policy decisions
  keel traces search [--agent A] [--version V] [--status S] [--path "tool:denied>tool:approved>tool:failed>tool:retried"]
                     [--tool T,…] [--policy denied|review|…] [--errors] [--escalated] [--min-retries N]
                     [--min-cost USD] [--max-cost USD] [--min-latency-ms N] [--max-latency-ms N]
                     [--since 24h] [--until ISO] [--limit N] [--json]
                                   runs whose decision path and numbers match, newest first`;

type TraceView = Answer<"runTrace">;
type SpanView = TraceView["spans"][number];

const SEARCH_FLAGS = {
  agent: "agent",
  version: "version",
  status: "status",
  path: "path",
  tool: "tool",
  policy: "policy",
  "min-retries": "minRetries",
  "min-cost": "minCost",
  "max-cost": "maxCost",
  "min-latency-ms": "minLatencyMs",
  "max-latency-ms": "maxLatencyMs",
  since: "since",
  until: "until",
  limit: "limit",
} as const;

/** `keel traces show|search`: traces and decision-path search through the HTTP API. */
export async function tracesCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: "string" },
      "api-key-file": { type: "string" },
      json: { type: "boolean" },
      errors: { type: "boolean" },
      escalated: { type: "boolean" },
      ...Object.fromEntries(Object.keys(SEARCH_FLAGS).map((flag) => [flag, { type: "string" as const }])),
    },
  });
  const client = connectApiClient(io, {
    url: values.url as string | undefined,
    "api-key-file": values["api-key-file"] as string | undefined,
  });
  const [action, target] = positionals;
  if (action === "show" && target) {
    const traces = /^[0-9a-f]{32}$/i.test(target)
      ? (await client.call("traceById", { params: { traceId: target } })).runs
      : [await client.call("runTrace", { params: { id: target } })];
    if (values.json) io.out(JSON.stringify(traces, null, 2));
    else for (const trace of traces) printTrace(trace, io);
    return 0;
  }
  if (action === "search") {
    const query: Record<string, string> = {};
    for (const [flag, parameter] of Object.entries(SEARCH_FLAGS)) {
      const value = (values as Record<string, unknown>)[flag];
      if (typeof value === "string") query[parameter] = value;
    }
    if (values.errors) query.errors = "true";
    if (values.escalated) query.escalated = "true";
    // The flags go as typed: the server checks each and names a bad one.
    const { runs } = await client.call("searchTraces", {
      query: query as CallInput<"searchTraces">["query"],
    });
    if (values.json) io.out(JSON.stringify(runs, null, 2));
    else if (runs.length === 0) io.out("no runs match");
    else
      for (const run of runs) {
        const seconds =
          run.durationMs === null ? "   open" : `${(run.durationMs / 1000).toFixed(2).padStart(6)}s`;
        io.out(
          `${run.runId}  ${run.startedAt}  ${run.agent}@${run.agentVersion}  ${run.status.padEnd(15)} ${seconds}  $${run.costUsd.toFixed(4)}  ${run.path.join(" > ")}`,
        );
      }
    return 0;
  }
  throw new KeelError("invalid_request", TRACES_USAGE);
}

/** Print a span tree, children indented under parents, with each span's time and what matters in it. */
function printTrace(trace: TraceView, io: CliIo): void {
  io.out(`trace ${trace.traceId}  run ${trace.runId}`);
  const children = new Map<string | null, SpanView[]>();
  const ids = new Set(trace.spans.map((span) => span.spanId));
  for (const span of trace.spans) {
    const parent = span.parentSpanId !== null && ids.has(span.parentSpanId) ? span.parentSpanId : null;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const origin = trace.spans[0]?.startMs ?? 0;
  const walk = (parent: string | null, depth: number) => {
    for (const span of (children.get(parent) ?? []).sort((a, b) => a.startMs - b.startMs)) {
      const took = span.endMs === null ? "open" : `${(span.endMs - span.startMs).toFixed(0)}ms`;
      io.out(
        `${"  ".repeat(depth)}${span.name}  +${(span.startMs - origin).toFixed(0)}ms ${took}${details(span)}`,
      );
      walk(span.spanId, depth + 1);
    }
  };
  walk(null, 1);
}

function details(span: SpanView): string {
  const a = span.attributes;
  const parts: string[] = [];
  if (a["gen_ai.usage.input_tokens"] !== undefined) {
    parts.push(
      `tokens in ${a["gen_ai.usage.input_tokens"]} (cached ${a["gen_ai.usage.cache_read.input_tokens"] ?? 0}) out ${a["gen_ai.usage.output_tokens"]}`,
    );
  }
  if (typeof a["keel.cost.usd"] === "number" && a["keel.cost.usd"] > 0)
    parts.push(`$${a["keel.cost.usd"].toFixed(4)}`);
  if (a["keel.policy.decision"] !== undefined)
    parts.push(`${a["keel.policy.decision"]}${a["keel.policy.code"] ? ` (${a["keel.policy.code"]})` : ""}`);
  if (a["keel.run.status"] !== undefined) parts.push(String(a["keel.run.status"]));
  if (span.status.code === "error") parts.push(`error: ${span.status.message ?? ""}`);
  return parts.length > 0 ? `  ${parts.join("  ")}` : "";
}
