import { createHash } from "node:crypto";

/** A W3C trace context (https://www.w3.org/TR/trace-context/): the caller's trace and the span Keel continues. */
export type TraceParent = { traceId: string; spanId: string; sampled: boolean };

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/**
 * Read a `traceparent` header; null when it is absent or malformed (the spec says to start a new trace then).
 * Version ff is invalid; unknown future versions are read by their first four fields.
 */
export function parseTraceParent(header: string | null | undefined): TraceParent | null {
  if (!header) return null;
  const match = TRACEPARENT.exec(header.trim().toLowerCase());
  if (!match) return null;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === "ff" || traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  if (version === "00" && rest !== undefined) return null;
  return { traceId: traceId!, spanId: spanId!, sampled: (Number.parseInt(flags!, 16) & 1) === 1 };
}

/** Format a trace context as a version-00 `traceparent` header. */
export function formatTraceParent(context: TraceParent): string {
  return `00-${context.traceId}-${context.spanId}-${context.sampled ? "01" : "00"}`;
}

/**
 * A run's trace id: the caller's when the run started under a `traceparent`, else derived from the run id, so
 * replaying the journal yields the same trace (invariant 8) without storing anything beside it.
 */
export function traceIdOf(runId: string, parent: TraceParent | null): string {
  if (parent) return parent.traceId;
  return createHash("sha256").update(`keel-trace:${runId}`).digest("hex").slice(0, 32);
}

/**
 * A span id from the trace id and the span's key within the run (`run`, `model:3`, `tool:call_1:1`, …): stable
 * across replays, distinct within a trace. Two 32-bit FNV-1a hashes with different offsets make the 64 bits in a
 * few hundred nanoseconds; a cryptographic hash per span would cost more than the rest of the span.
 */
export function spanIdOf(traceId: string, key: string): string {
  const text = `${traceId}/${key}`;
  let high = 0x811c9dc5;
  let low = 0x050c5d1f;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    high = Math.imul(high ^ code, 0x01000193);
    low = Math.imul(low ^ code, 0x01000193) ^ (high >>> 7);
  }
  const id = (high >>> 0).toString(16).padStart(8, "0") + (low >>> 0).toString(16).padStart(8, "0");
  return id === ZERO_SPAN ? "0000000000000001" : id;
}

/** A tool call's span key within its run: one `execute_tool` span per call (a call that ends is never run again). */
export function toolSpanKey(callId: string): string {
  return `tool:${callId}:1`;
}

/** A workflow node's span key within its run: one `workflow_node` span per entry of the node. */
export function nodeSpanKey(node: string, visit: number): string {
  return `node:${node}.${visit}`;
}

/**
 * The trace a run's spans belong to, and the id of its span with a given key. A run started under a `traceparent`
 * shares its trace with the caller and with every other run started there (a workflow's child runs share their
 * root's), so its keys are qualified by the run id: two sibling runs' `tool:call_1:1` are different spans. A run
 * with a trace of its own keeps the bare keys.
 */
export function runTrace(
  runId: string,
  traceparent: string | null | undefined,
): { traceId: string; parent: TraceParent | null; spanId(key: string): string } {
  const parent = parseTraceParent(traceparent);
  const traceId = traceIdOf(runId, parent);
  return {
    traceId,
    parent,
    spanId: (key) => spanIdOf(traceId, parent ? `${runId}/${key}` : key),
  };
}

/**
 * The `traceparent` a tool passes on to what it calls (an outbound HTTP request): the run's trace and the tool
 * call's own `execute_tool` span, derived the way the trace projection derives them, so the callee's spans hang
 * under the call in the exported trace.
 */
export function toolCallTraceParent(options: {
  runId: string;
  traceparent?: string | null;
  callId: string;
}): string {
  const trace = runTrace(options.runId, options.traceparent);
  return formatTraceParent({
    traceId: trace.traceId,
    spanId: trace.spanId(toolSpanKey(options.callId)),
    sampled: true,
  });
}

/**
 * The `traceparent` of a run a workflow node starts (an `agent` node's child run, a branch of a `parallel` or
 * `map`): the parent run's trace and the node's own `workflow_node` span, so the child's whole trace nests under
 * the node that started it.
 */
export function nodeTraceParent(options: {
  runId: string;
  traceparent?: string | null;
  node: string;
  visit: number;
}): string {
  const trace = runTrace(options.runId, options.traceparent);
  return formatTraceParent({
    traceId: trace.traceId,
    spanId: trace.spanId(nodeSpanKey(options.node, options.visit)),
    sampled: true,
  });
}
