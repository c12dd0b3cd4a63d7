import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { Store } from "../store/index.ts";

/** How long the stream waits for new events before sending a keep-alive comment. */
const KEEPALIVE_MS = 15_000;

/**
 * A run's journal as Server-Sent Events. Each event's SSE id is its `seq`, so a client that reconnects with
 * `Last-Event-ID: n` receives exactly the events after n: read, write, then wait on the store, in seq order.
 * The stream ends after `run-end`.
 */
export function streamRunEvents(
  context: Context,
  options: { store: Store; runId: string; afterSeq: number },
): Response {
  const { store, runId } = options;
  return streamSSE(context, async (stream) => {
    const closed = new AbortController();
    stream.onAbort(() => closed.abort());
    let afterSeq = options.afterSeq;
    while (!closed.signal.aborted) {
      const events = await store.readEvents({ runId, afterSeq, limit: 500 });
      for (const event of events) {
        await stream.writeSSE({ id: String(event.seq), event: event.type, data: JSON.stringify(event) });
        afterSeq = event.seq;
        if (event.type === "run-end") return;
      }
      if (events.length === 500) continue;
      const before = afterSeq;
      await store.waitForEvents({ runId, afterSeq, timeoutMs: KEEPALIVE_MS, signal: closed.signal });
      if (!closed.signal.aborted && before === afterSeq) {
        const run = await store.getRun(runId);
        if (run && run.lastSeq === afterSeq) await stream.write(": keep-alive\n\n");
      }
    }
  });
}
