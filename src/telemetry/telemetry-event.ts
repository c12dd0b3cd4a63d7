import type { JournalEvent } from "../journal/index.ts";

/** What telemetry reads of a journal event: its place, type, time and payload (not its hashes). */
export type TelemetryEvent = JournalEvent extends infer Event
  ? Event extends JournalEvent
    ? Pick<Event, "runId" | "seq" | "type" | "at" | "payload">
    : never
  : never;

/**
 * An event whose type this version of telemetry does not know (a capability added later, e.g. approvals or
 * handoffs). Projections read the fields they understand and skip the rest, so a new event type never breaks them.
 */
export type OtherEvent = { runId: string; seq: number; type: string; at: string; payload: unknown };

/** Milliseconds since the epoch of an event's `at`. */
export function timeOf(event: { at: string }): number {
  return Date.parse(event.at);
}

/** A field of an unknown payload, when it is a string. */
export function stringField(payload: unknown, field: string): string | undefined {
  if (typeof payload !== "object" || payload === null) return undefined;
  const value = (payload as Record<string, unknown>)[field];
  return typeof value === "string" ? value : undefined;
}
