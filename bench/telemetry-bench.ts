/**
 * `node bench/telemetry-bench.ts [--store pglite|postgres] [--events 1000000] [--requests 300]`: journals
 * `--events` events through the store, folds them with the journal projector while exporting every span over
 * OTLP/HTTP to a loopback sink (ingestion rate and memory), then times trace-by-id and decision-path search
 * through the HTTP API, and the per-span CPU of Keel's span path against the raw OpenTelemetry SDK.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { type ServerType, serve } from "@hono/node-server";
import { Registry } from "prom-client";
import { createAgentCatalog } from "../src/runtime/agent-catalog.ts";
import { createApp } from "../src/server/create-app.ts";
import { createJournalProjector } from "../src/telemetry/journal-projector.ts";
import { createOtlpTraceExporter } from "../src/telemetry/otlp-trace-exporter.ts";
import { createTelemetryMetrics } from "../src/telemetry/telemetry-metrics.ts";
import { createTelemetryQueries } from "../src/telemetry/telemetry-queries.ts";
import { scriptedAgent } from "../test/support/scripted-agent.ts";
import { pgliteTarget, postgresTarget } from "./bench-targets.ts";
import { fillJournal } from "./telemetry-dataset.ts";
import { benchSpanOverhead } from "./telemetry-span-overhead.ts";

const { values } = parseArgs({
  options: {
    store: { type: "string", multiple: true },
    events: { type: "string", default: "1000000" },
    requests: { type: "string", default: "300" },
  },
});
const targetEvents = Number(values.events);
const requests = Number(values.requests);
const stores = values.store ?? ["pglite", "postgres"];

const SEARCHES = [
  "agent=support-triage&since=24h&path=issue_refund:denied>issue_refund:review>issue_refund:failed>issue_refund:retried",
  "agent=support-triage&since=24h&path=issue_refund:denied>issue_refund:retried&status=completed",
  "agent=billing&policy=denied&since=24h",
  "errors=true&minCost=0.05&since=24h",
  "tool=send_email&status=failed&since=24h",
  "escalated=true&version=1.1.0&agent=returns",
  "agent=onboarding&minRetries=1&minLatencyMs=1",
  "path=*:failed>*:retried>*:ok&agent=returns&since=24h",
];

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function summary(samples: number[]): { p50: number; p95: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
  };
}

async function timeRequests(url: string, paths: readonly string[]): Promise<number[]> {
  const samples: number[] = [];
  for (const [index, path] of paths.entries()) {
    const started = performance.now();
    const response = await fetch(`${url}${path}`);
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
    if (index >= 20) samples.push(performance.now() - started);
  }
  return samples;
}

const mib = (bytes: number) => Math.round(bytes / 1_048_576);

function slowestStretch(perSecond: readonly number[], seconds: number): number | null {
  if (perSecond.length < seconds) return null;
  let slowest = Number.POSITIVE_INFINITY;
  for (let start = 0; start + seconds <= perSecond.length; start += 1) {
    const sum = perSecond.slice(start, start + seconds).reduce((total, count) => total + count, 0);
    slowest = Math.min(slowest, sum / seconds);
  }
  return slowest;
}

const results: Record<string, unknown>[] = [];
for (const kind of stores) {
  const target = kind === "pglite" ? pgliteTarget() : await postgresTarget(process.env.DATABASE_URL);
  const { store, dispose } = await target.openStore();
  console.log(`\n== ${kind} (${target.where})`);
  const fill = await fillJournal(store, {
    targetEvents,
    concurrency: kind === "pglite" ? 16 : 32,
    onProgress: (events) => console.log(`  journaled ${events.toLocaleString()} events`),
  });
  console.log(
    `  journal: ${fill.events.toLocaleString()} events in ${fill.runs.toLocaleString()} runs, ${fill.seconds.toFixed(1)} s`,
  );

  // Ingestion: fold the whole journal and export every span over OTLP/HTTP to a sink that discards it.
  const sink = createServer((request, response) => {
    request.resume();
    request.on("end", () => response.writeHead(200, { "content-type": "application/x-protobuf" }).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  const metrics = createTelemetryMetrics({ registry: new Registry(), sql: store.sql });
  const exporter = createOtlpTraceExporter({
    url: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/v1/traces`,
    metrics,
  });
  const projector = createJournalProjector({ store, metrics, exporter });
  const memory: { rss: number; heap: number }[] = [];
  const windows: number[] = [];
  let lastSpans = 0;
  let spans = 0;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    memory.push({ rss: usage.rss, heap: usage.heapUsed });
    // Spans delivered to the collector this second: the projector's progress as the collector sees it.
    const delivered = exporter.stats.exported;
    windows.push(delivered - lastSpans);
    lastSpans = delivered;
  }, 1_000);
  const ingestStarted = performance.now();
  let runsFolded = 0;
  for (;;) {
    const progress = await projector.catchUp();
    spans += progress.spans;
    runsFolded += progress.runs;
    if (progress.runs === 0) break;
  }
  await exporter.flush();
  const ingestSeconds = (performance.now() - ingestStarted) / 1000;
  clearInterval(sampler);
  const stats = exporter.stats;
  const third = Math.max(1, Math.floor(memory.length / 3));
  const ingestion = {
    runs: runsFolded,
    spans,
    seconds: ingestSeconds,
    spansPerSecond: spans / ingestSeconds,
    // Sustained: the slowest five-second stretch, leaving out the partial first and last seconds.
    slowestFiveSecondsPerSecond: slowestStretch(windows.slice(1, -1), 5),
    exported: stats.exported,
    dropped: stats.dropped,
    heapMiB: {
      firstThird: mib(Math.max(...memory.slice(0, third).map((m) => m.heap))),
      lastThird: mib(Math.max(...memory.slice(-third).map((m) => m.heap))),
    },
    rssMiB: {
      firstThird: mib(Math.max(...memory.slice(0, third).map((m) => m.rss))),
      lastThird: mib(Math.max(...memory.slice(-third).map((m) => m.rss))),
      max: mib(Math.max(...memory.map((m) => m.rss))),
    },
  };
  console.log(`  ingestion: ${JSON.stringify(ingestion)}`);
  await exporter.shutdown();
  await new Promise<void>((resolve) => sink.close(() => resolve()));

  // Queries through the HTTP API.
  const queries = createTelemetryQueries({ store });
  const app = createApp({
    store,
    agents: createAgentCatalog([scriptedAgent({ turns: [], name: "support-triage" })]),
    telemetry: { metrics, queries },
    log: () => {},
  });
  const server = await new Promise<ServerType>((resolve) => {
    const created = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(created));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { rows } = await store.sql.query<{ trace_id: string }>(
    `SELECT trace_id FROM keel_telemetry_runs ORDER BY md5(run_id) LIMIT ${requests + 20}`,
  );
  const byId = summary(
    await timeRequests(
      url,
      rows.map((row) => `/v1/traces/${row.trace_id}`),
    ),
  );
  const searchPaths = Array.from(
    { length: requests + 20 },
    (_, index) => `/v1/traces?${SEARCHES[index % SEARCHES.length]}&limit=50`,
  );
  const search = summary(await timeRequests(url, searchPaths));
  const matched = await (await fetch(`${url}/v1/traces?${SEARCHES[0]}&limit=1000`)).json();
  console.log(`  trace by id (ms): ${JSON.stringify(byId)}`);
  console.log(
    `  decision-path search (ms): ${JSON.stringify(search)}; the issue's example query matched ${(matched as { runs: unknown[] }).runs.length} runs`,
  );
  await new Promise<void>((resolve) => server.close(() => resolve()));
  results.push({ store: kind, journal: fill, ingestion, traceByIdMs: byId, searchMs: search });
  await dispose();
  await target.close();
}

const overhead = await benchSpanOverhead({ runs: 2_000, rounds: 7 });
console.log(`\nper-span CPU (µs): ${JSON.stringify(overhead)}`);
console.log(JSON.stringify({ results, overhead }, null, 2));
