import type { PayloadSealer } from "../guards/index.ts";
import type { JournalEvent } from "../journal/index.ts";
import { hashPayload } from "../journal/index.ts";
import type { SealedArgumentsRow } from "../store/index.ts";
import { sealContext } from "./protect-events.ts";

/**
 * Put back the real arguments of proposed calls whose arguments were masked in the journal, from their sealed
 * originals, so a resumed run acts on exactly what was proposed. An original is used only when it opens with
 * this key for this run and hashes to the journaled `argumentsHash`; a call left masked is refused by the
 * governor (its arguments no longer match their hash), never executed with placeholders.
 */
export function restoreSealedArguments(
  events: readonly JournalEvent[],
  rows: readonly SealedArgumentsRow[],
  sealer: PayloadSealer,
): JournalEvent[] {
  if (rows.length === 0) return [...events];
  const byHash = new Map(rows.map((row) => [row.argumentsHash, row]));
  return events.map((event) => {
    if (event.type !== "tool-call-propose") return event;
    const row = byHash.get(event.payload.argumentsHash);
    if (!row || hashPayload(event.payload.arguments) === event.payload.argumentsHash) return event;
    const opened = sealer.open(row, sealContext(event.runId, event.payload.argumentsHash));
    if (opened === null) return event;
    const original: unknown = JSON.parse(opened);
    if (hashPayload(original) !== event.payload.argumentsHash) return event;
    return { ...event, payload: { ...event.payload, arguments: original } };
  });
}
