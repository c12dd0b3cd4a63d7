import type { ApiClient } from "./api-client.ts";

/** One Server-Sent Event as received. */
export type SseMessage = { id: string | null; event: string; data: string };

/**
 * Read an SSE stream, reconnecting with `Last-Event-ID` when the connection drops, until `isLast` says the
 * stream is complete. Yields each message once, in order.
 */
export async function* readSse(options: {
  client: ApiClient;
  path: string;
  isLast: (message: SseMessage) => boolean;
  maxReconnects?: number;
  /** Stop reading: the stream ends quietly. */
  signal?: AbortSignal;
}): AsyncGenerator<SseMessage> {
  let lastEventId: string | null = null;
  let reconnects = 0;
  for (;;) {
    const response = await options.client.fetch(options.path, {
      headers: {
        accept: "text/event-stream",
        ...(lastEventId === null ? {} : { "last-event-id": lastEventId }),
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!response.ok || !response.body) throw new Error(`event stream answered ${response.status}`);
    try {
      for await (const message of parseSse(response.body)) {
        if (message.id !== null) lastEventId = message.id;
        yield message;
        if (options.isLast(message)) return;
      }
    } catch (error) {
      if (options.signal?.aborted) return;
      if (reconnects >= (options.maxReconnects ?? 5)) throw error;
    }
    reconnects += 1;
    if (reconnects > (options.maxReconnects ?? 5))
      throw new Error("the event stream ended before the run did");
    await new Promise((resolve) => setTimeout(resolve, 200 * reconnects));
  }
}

/** Parse the text/event-stream format: fields until a blank line; comments (`:`) ignored. */
export async function* parseSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = "";
  let id: string | null = null;
  let event = "message";
  let data: string[] = [];
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline = buffer.search(/\r?\n/);
    while (newline !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(buffer[newline] === "\r" ? newline + 2 : newline + 1);
      if (line === "") {
        if (data.length > 0) yield { id, event, data: data.join("\n") };
        event = "message";
        data = [];
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "id") id = value;
        else if (field === "event") event = value;
        else if (field === "data") data.push(value);
      }
      newline = buffer.search(/\r?\n/);
    }
  }
}
