import { type HrTime, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { KeelSpan } from "./keel-span.ts";

const STATUS = { unset: SpanStatusCode.UNSET, ok: SpanStatusCode.OK, error: SpanStatusCode.ERROR } as const;

/** A closed Keel span in the SDK's shape, so the official OTLP exporter can serialise it. */
export function toReadableSpan(
  span: KeelSpan,
  resource: Resource,
  scope: InstrumentationScope,
): ReadableSpan {
  const endMs = span.endMs ?? span.startMs;
  const context = { traceId: span.traceId, spanId: span.spanId, traceFlags: 1 };
  return {
    name: span.name,
    kind: span.kind === "client" ? SpanKind.CLIENT : SpanKind.INTERNAL,
    spanContext: () => context,
    ...(span.parentSpanId
      ? {
          parentSpanContext: {
            traceId: span.traceId,
            spanId: span.parentSpanId,
            traceFlags: 1,
            isRemote: span.parentIsRemote,
          },
        }
      : {}),
    startTime: hrTime(span.startMs),
    endTime: hrTime(endMs),
    duration: hrTime(Math.max(0, endMs - span.startMs)),
    status:
      span.status.message === undefined
        ? { code: STATUS[span.status.code] }
        : { code: STATUS[span.status.code], message: span.status.message },
    attributes: span.attributes,
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/** Milliseconds (with fractions) as OpenTelemetry's [seconds, nanoseconds]. */
export function hrTime(milliseconds: number): HrTime {
  const seconds = Math.floor(milliseconds / 1000);
  const nanos = Math.round((milliseconds - seconds * 1000) * 1e6);
  return nanos >= 1e9 ? [seconds + 1, nanos - 1e9] : [seconds, nanos];
}
