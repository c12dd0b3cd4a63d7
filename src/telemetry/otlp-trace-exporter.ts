import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { SpanExporter } from "@opentelemetry/sdk-trace";
import type { KeelSpan } from "./keel-span.ts";
import type { TelemetryMetrics } from "./telemetry-metrics.ts";
import { toReadableSpan } from "./to-readable-span.ts";
import type { TraceExporter, TraceExporterStats } from "./trace-exporter.ts";

export type OtlpTraceExporterOptions = {
  /** The collector's traces URL, e.g. `http://127.0.0.1:4318/v1/traces` (from OTEL_EXPORTER_OTLP_ENDPOINT). */
  url?: string;
  headers?: Record<string, string>;
  /** The SDK exporter to send through; by default the official OTLP/HTTP protobuf exporter for `url`. */
  spanExporter?: SpanExporter;
  /** Spans held at most; beyond it new spans are dropped and counted (default 8,192). */
  maxQueueSize?: number;
  /** Spans per OTLP request (default 512). */
  maxBatchSize?: number;
  /** How long a partial batch waits for company (default 200 ms). */
  scheduledDelayMs?: number;
  /** Requests in flight at once (default 2). */
  maxConcurrentExports?: number;
  timeoutMs?: number;
  serviceName?: string;
  serviceVersion?: string;
  metrics?: TelemetryMetrics;
};

/**
 * The TraceExporter over OpenTelemetry's official OTLP/HTTP exporter: a bounded queue, batches sent in the
 * background, and every span accounted for — exported, or dropped with a reason in `stats` and in the
 * `keel_telemetry_spans_dropped_total` metric.
 */
export function createOtlpTraceExporter(options: OtlpTraceExporterOptions): TraceExporter {
  const maxQueueSize = options.maxQueueSize ?? 8_192;
  const maxBatchSize = options.maxBatchSize ?? 512;
  const delayMs = options.scheduledDelayMs ?? 200;
  const maxConcurrent = options.maxConcurrentExports ?? 2;
  const metrics = options.metrics;
  const exporter =
    options.spanExporter ??
    new OTLPTraceExporter({
      ...(options.url === undefined ? {} : { url: options.url }),
      ...(options.headers ? { headers: options.headers } : {}),
      timeoutMillis: options.timeoutMs ?? 10_000,
    });
  const resource = resourceFromAttributes({
    "service.name": options.serviceName ?? "keel",
    ...(options.serviceVersion ? { "service.version": options.serviceVersion } : {}),
  });
  const scope = { name: "keel", ...(options.serviceVersion ? { version: options.serviceVersion } : {}) };
  const stats: TraceExporterStats = {
    queued: 0,
    exported: 0,
    dropped: { queue_full: 0, export_failed: 0, shutdown: 0 },
  };
  let queue: KeelSpan[] = [];
  let inFlight = 0;
  const inFlightDone = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const drop = (count: number, reason: keyof TraceExporterStats["dropped"]) => {
    if (count === 0) return;
    stats.dropped[reason] += count;
    metrics?.spansDropped(count, reason);
  };
  const setQueued = () => {
    stats.queued = queue.length;
    metrics?.setExportQueue(queue.length);
  };

  /** Start sending one batch; false when there is nothing to send or no room for another request. */
  const sendBatch = (): boolean => {
    if (queue.length === 0 || inFlight >= maxConcurrent) return false;
    const batch = queue.length <= maxBatchSize ? queue : queue.slice(0, maxBatchSize);
    queue = queue.length <= maxBatchSize ? [] : queue.slice(maxBatchSize);
    setQueued();
    inFlight += 1;
    const done = new Promise<void>((resolve) => {
      const readable = batch.map((span) => toReadableSpan(span, resource, scope));
      exporter.export(readable, (result: ExportResult) => {
        if (result.code === ExportResultCode.SUCCESS) {
          stats.exported += batch.length;
          metrics?.spansExported(batch.length);
        } else {
          drop(batch.length, "export_failed");
        }
        resolve();
      });
    }).finally(() => {
      inFlight -= 1;
      inFlightDone.delete(done);
      schedule();
    });
    inFlightDone.add(done);
    return true;
  };

  function schedule(): void {
    if (queue.length === 0 || closed) return;
    if (queue.length >= maxBatchSize) {
      while (queue.length >= maxBatchSize && sendBatch()) {}
      if (queue.length === 0) return;
    }
    timer ??= setTimeout(() => {
      timer = null;
      sendBatch();
      schedule();
    }, delayMs);
    timer.unref();
  }

  const flush = async (): Promise<void> => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    while (queue.length > 0 || inFlightDone.size > 0) {
      while (sendBatch()) {}
      if (inFlightDone.size > 0) await Promise.race(inFlightDone);
    }
  };

  return {
    export(spans) {
      if (closed) {
        drop(spans.length, "shutdown");
        return;
      }
      const room = maxQueueSize - queue.length;
      if (spans.length > room) drop(spans.length - Math.max(0, room), "queue_full");
      if (room > 0) queue.push(...(spans.length > room ? spans.slice(0, room) : spans));
      setQueued();
      schedule();
    },
    flush,
    async shutdown() {
      await flush();
      closed = true;
      await exporter.shutdown();
    },
    get stats() {
      return { ...stats, dropped: { ...stats.dropped } };
    },
  };
}
