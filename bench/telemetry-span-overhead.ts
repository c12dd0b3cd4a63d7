import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { context, SpanKind, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { buildRunSpans } from "../src/telemetry/build-run-spans.ts";
import type { KeelSpan } from "../src/telemetry/keel-span.ts";
import { createOtlpTraceExporter } from "../src/telemetry/otlp-trace-exporter.ts";
import type { TelemetryEvent } from "../src/telemetry/telemetry-event.ts";
import { syntheticEvents } from "../test/support/synthetic-journal.ts";
import { datasetRun } from "./telemetry-dataset.ts";

/** CPU microseconds per span for Keel's journal-to-span path and for the raw OpenTelemetry SDK, in one run. */
export type SpanOverhead = {
  spans: number;
  sdkNoExportUs: number;
  keelNoExportUs: number;
  sdkExportUs: number;
  keelExportUs: number;
};

/** Journals of `runs` dataset runs, as the projector reads them. */
function journals(runs: number): TelemetryEvent[][] {
  return Array.from({ length: runs }, (_, index) => {
    const run = datasetRun(index);
    const start = Date.now() - 60_000;
    const events = [
      {
        type: "run-start",
        payload: {
          agent: run.agent,
          agentVersion: run.version ?? "1.0.0",
          specHash: "sha256:bench",
          input: "x",
          principal: { subject: "bench", tenant: "default", roles: [] },
          startedAt: new Date(start).toISOString(),
          deadlineAt: new Date(start + 600_000).toISOString(),
          maxSteps: 20,
        },
      },
      ...syntheticEvents(run),
    ];
    return events.map(
      (event, seq) =>
        ({
          runId: `run_${index}`,
          seq: seq + 1,
          type: event.type,
          at: new Date(start + seq * 40).toISOString(),
          payload: event.payload,
        }) as TelemetryEvent,
    );
  });
}

function cpuMicros(work: () => void): number {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

async function cpuMicrosAsync(work: () => Promise<void>): Promise<number> {
  const before = process.cpuUsage();
  await work();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

/** The same span, the way a hand-instrumented service would make it with the SDK: start, attributes, end. */
function sdkSpans(tracer: ReturnType<TracerProvider["getTracer"]>, spans: readonly KeelSpan[]): void {
  const byId = new Map<string, ReturnType<typeof tracer.startSpan>>();
  for (const span of spans) {
    const parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
    const created = tracer.startSpan(
      span.name,
      {
        kind: span.kind === "client" ? SpanKind.CLIENT : SpanKind.INTERNAL,
        startTime: span.startMs,
        attributes: span.attributes,
      },
      parent ? trace.setSpan(context.active(), parent) : context.active(),
    );
    byId.set(span.spanId, created);
  }
  for (const span of spans) byId.get(span.spanId)?.end(span.endMs ?? span.startMs);
}

/**
 * Measure, in one process and one run: (1) building Keel's spans from journals versus making the same spans with
 * the SDK and no processor; (2) both exported with the official OTLP/HTTP protobuf exporter to a loopback sink
 * that reads and discards each request.
 */
export async function benchSpanOverhead(options: { runs: number; rounds: number }): Promise<SpanOverhead> {
  const runs = journals(options.runs);
  const keelSpans = runs.map((events) => buildRunSpans(events));
  const spanCount = keelSpans.reduce((sum, spans) => sum + spans.length, 0);
  const sink = createServer((request, response) => {
    request.resume();
    request.on("end", () => response.writeHead(200, { "content-type": "application/x-protobuf" }).end());
  });
  await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/v1/traces`;

  const bare = new TracerProvider({ spanProcessors: [] }).getTracer("bench");
  const exported = new TracerProvider({
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url, concurrencyLimit: 1_024 }),
        maxQueueSize: 65_536,
        maxExportBatchSize: 512,
        scheduledDelayMillis: 50,
      }),
    ],
  });
  const exportingTracer = exported.getTracer("bench");

  const best = {
    sdkNo: Number.POSITIVE_INFINITY,
    keelNo: Number.POSITIVE_INFINITY,
    sdkEx: Number.POSITIVE_INFINITY,
    keelEx: Number.POSITIVE_INFINITY,
  };
  for (let round = 0; round < options.rounds; round += 1) {
    best.sdkNo = Math.min(
      best.sdkNo,
      cpuMicros(() => {
        for (const spans of keelSpans) sdkSpans(bare, spans);
      }) / spanCount,
    );
    best.keelNo = Math.min(
      best.keelNo,
      cpuMicros(() => {
        for (const events of runs) buildRunSpans(events);
      }) / spanCount,
    );
    best.sdkEx = Math.min(
      best.sdkEx,
      (await cpuMicrosAsync(async () => {
        for (const spans of keelSpans) sdkSpans(exportingTracer, spans);
        await exported.forceFlush();
      })) / spanCount,
    );
    const keelExporter = createOtlpTraceExporter({
      url,
      maxQueueSize: 65_536,
      maxBatchSize: 512,
      scheduledDelayMs: 50,
    });
    best.keelEx = Math.min(
      best.keelEx,
      (await cpuMicrosAsync(async () => {
        for (const events of runs) keelExporter.export(buildRunSpans(events));
        await keelExporter.flush();
      })) / spanCount,
    );
    const { dropped } = keelExporter.stats;
    if (dropped.queue_full + dropped.export_failed > 0)
      throw new Error(`the benchmark exporter dropped spans: ${JSON.stringify(dropped)}`);
  }
  await exported.shutdown();
  await new Promise<void>((resolve) => sink.close(() => resolve()));
  return {
    spans: spanCount,
    sdkNoExportUs: best.sdkNo,
    keelNoExportUs: best.keelNo,
    sdkExportUs: best.sdkEx,
    keelExportUs: best.keelEx,
  };
}

if (import.meta.main) {
  const result = await benchSpanOverhead({ runs: 2_000, rounds: 7 });
  console.log(JSON.stringify(result, null, 2));
}
