import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { LiveText, TextDelta } from "../runtime/index.ts";
import type { Store } from "../store/index.ts";

/** How long the stream waits for new events before sending a keep-alive comment. */
const KEEPALIVE_MS = 15_000;

/**
 * A run's journal as Server-Sent Events. Each event's SSE id is its `seq`, so a client that reconnects with
 * `Last-Event-ID: n` receives exactly the events after n: read, write, then wait on the store, in seq order.
 * The stream ends after `run-end`.
 *
 * When this process interprets the run, its model turns' text is sent too as it is written: `text-delta` events
 * without an id (so `Last-Event-ID` still names the last journaled event), each after every event journaled before
 * it was written and before the `model-call-end` that journals the turn's whole text. A delta is sent at most once per connection and never after its turn's
 * `model-call-end`; a turn made afresh (its call interrupted and made again) is not streamed a second time.
 * `replay` gives a client that has seen nothing of the run the turn streaming now from its first delta.
 */
export function streamRunEvents(
  context: Context,
  options: { store: Store; runId: string; afterSeq: number; live?: LiveText; replay?: boolean },
): Response {
  const { store, runId } = options;
  return streamSSE(context, async (stream) => {
    const closed = new AbortController();
    stream.onAbort(() => closed.abort());
    const text = textDeltas();
    let wake: AbortController | null = null;
    const unsubscribe = options.live?.subscribe(
      runId,
      (delta) => {
        text.push(delta);
        wake?.abort();
      },
      { replay: options.replay ?? false },
    );
    const writeDeltas = async (upToTurn: number, arrivedBefore?: number) => {
      for (const delta of text.take(upToTurn, arrivedBefore)) {
        await stream.writeSSE({ event: "text-delta", data: JSON.stringify(delta) });
      }
    };
    try {
      let afterSeq = options.afterSeq;
      while (!closed.signal.aborted) {
        // Deltas queued before this read follow every event journaled before they were written, so those events
        // are in the read (or were sent before it); a delta queued during the read may follow an event the read
        // missed (a tool call's end, committed as the read ran), so it waits for the next read.
        const arrivedBeforeRead = text.arrivals;
        const events = await store.readEvents({ runId, afterSeq, limit: 500 });
        for (const event of events) {
          if (event.type === "model-call-end") {
            // A turn's deltas all precede its model-call-end: those not yet sent go first, and none after it.
            await writeDeltas(event.payload.step);
            text.ended.add(event.payload.step);
          }
          await stream.writeSSE({ id: String(event.seq), event: event.type, data: JSON.stringify(event) });
          afterSeq = event.seq;
          if (event.type === "run-end") return;
        }
        if (events.length === 500) continue;
        await writeDeltas(Number.POSITIVE_INFINITY, arrivedBeforeRead);
        if (text.waiting > 0) continue;
        const before = afterSeq;
        wake = new AbortController();
        const waiting = AbortSignal.any([closed.signal, wake.signal]);
        await store.waitForEvents({ runId, afterSeq, timeoutMs: KEEPALIVE_MS, signal: waiting });
        const woken = wake.signal.aborted || text.waiting > 0;
        wake = null;
        if (!closed.signal.aborted && !woken && before === afterSeq) {
          const run = await store.getRun(runId);
          if (run && run.lastSeq === afterSeq) await stream.write(": keep-alive\n\n");
        }
      }
    } finally {
      unsubscribe?.();
    }
  });
}

/** The deltas waiting to be sent on one connection, and what it has sent of each turn. */
function textDeltas() {
  /** Each delta with its place in the order deltas arrived on this connection. */
  const queue: Array<{ delta: TextDelta; arrival: number }> = [];
  let arrivals = 0;
  /** Turns whose model-call-end this connection has sent. */
  const ended = new Set<number>();
  /** How many deltas of each turn this connection has sent. */
  const sent = new Map<number, number>();
  /** Turns made afresh after some of their text was sent: the rest comes only as the journaled text. */
  const muted = new Set<number>();
  return {
    ended,
    push(delta: TextDelta): void {
      queue.push({ delta, arrival: arrivals++ });
    },
    /** How many deltas have arrived so far; `take` can hold back those that arrive after this count. */
    get arrivals(): number {
      return arrivals;
    },
    /** How many deltas are queued. */
    get waiting(): number {
      return queue.length;
    },
    /**
     * The queued deltas of turns up to `upToTurn` that arrived before `arrivedBefore` and may be sent, in order;
     * the others stay queued.
     */
    take(upToTurn: number, arrivedBefore = Number.POSITIVE_INFINITY): TextDelta[] {
      const ready: TextDelta[] = [];
      let kept = 0;
      for (const entry of queue) {
        const { delta } = entry;
        if (delta.turn > upToTurn || entry.arrival >= arrivedBefore) {
          queue[kept++] = entry;
          continue;
        }
        const count = sent.get(delta.turn) ?? 0;
        if (delta.index === 0 && count > 0) muted.add(delta.turn);
        if (ended.has(delta.turn) || muted.has(delta.turn)) continue;
        sent.set(delta.turn, count + 1);
        ready.push(delta);
      }
      queue.length = kept;
      return ready;
    },
  };
}
