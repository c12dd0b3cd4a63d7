import type { KeelSpan } from "./keel-span.ts";

/** Where spans go and what became of them. */
export type TraceExporterStats = {
  /** Spans waiting to be sent. */
  queued: number;
  exported: number;
  dropped: { queue_full: number; export_failed: number; shutdown: number };
};

/**
 * The port spans leave Keel through. `export` never blocks the projector: an implementation queues within a
 * bound and counts what it must drop (back-pressure, a failed export, a shutdown) so nothing is lost silently.
 */
export type TraceExporter = {
  export(spans: readonly KeelSpan[]): void;
  /** Send everything queued now. */
  flush(): Promise<void>;
  /** Flush, then stop; spans handed over afterwards are counted as dropped (`shutdown`). */
  shutdown(): Promise<void>;
  readonly stats: TraceExporterStats;
};
