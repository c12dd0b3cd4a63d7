import type { SpanOperation } from "./genai-semconv.ts";

/** An attribute value as OpenTelemetry allows it. */
export type SpanAttributeValue = string | number | boolean | string[];

/**
 * One span of a run's trace, derived from its journal: ids are stable across replays, times come from the
 * events. `endSeq` is the event that ended it; a projector exports each span once, when it reaches that event.
 */
export type KeelSpan = {
  traceId: string;
  spanId: string;
  /** The parent span; for a run's root this is the caller's span when the run started under a `traceparent`. */
  parentSpanId: string | null;
  parentIsRemote: boolean;
  name: string;
  kind: "internal" | "client";
  operation: SpanOperation;
  /** Milliseconds since the epoch, with fractions. */
  startMs: number;
  /** Null while the span is open (a run still going, an approval still waited for). */
  endMs: number | null;
  endSeq: number | null;
  attributes: Record<string, SpanAttributeValue>;
  status: { code: "unset" | "ok" | "error"; message?: string };
};
