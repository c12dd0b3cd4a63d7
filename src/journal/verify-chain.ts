import type { JournalEvent } from "./events.ts";
import { GENESIS_HASH, hashEvent, hashPayload } from "./hash.ts";

/** Where a run's chain first breaks, if it does. */
export type ChainVerdict =
  | { ok: true; events: number; head: string }
  | { ok: false; events: number; seq: number; problem: string };

/** Recompute every payload hash and link of one run's events, in order; stops at the first break. */
export function verifyChain(events: readonly JournalEvent[]): ChainVerdict {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const event of events) {
    if (event.seq !== expectedSeq) {
      return {
        ok: false,
        events: events.length,
        seq: event.seq,
        problem: `expected seq ${expectedSeq}, found ${event.seq}`,
      };
    }
    if (hashPayload(event.payload) !== event.payloadHash) {
      return { ok: false, events: events.length, seq: event.seq, problem: "payload does not match its hash" };
    }
    if (event.prevHash !== prev) {
      return {
        ok: false,
        events: events.length,
        seq: event.seq,
        problem: "prev_hash does not match the previous event",
      };
    }
    const hash = hashEvent({ ...event, prevHash: prev });
    if (hash !== event.hash) {
      return {
        ok: false,
        events: events.length,
        seq: event.seq,
        problem: "event hash does not match its fields",
      };
    }
    prev = hash;
    expectedSeq += 1;
  }
  return { ok: true, events: events.length, head: prev };
}
