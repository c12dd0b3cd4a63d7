/**
 * The console's only way to Keel: its HTTP API, with the signed-in key (if any) as a bearer token, exactly as any
 * other client calls it. Answers are typed by the route declarations (src/api/routes.ts) through the typed client's
 * `Answer` type; nothing of the server is bundled.
 */
import type { Answer, RouteName } from "../../src/client/index.ts";

export type { Answer, RouteName };

/** An error answer (or an unreachable server), with Keel's error code and the fields it names. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly issues: readonly { path: string; message: string }[];
  constructor(
    status: number,
    code: string,
    message: string,
    issues: readonly { path: string; message: string }[] = [],
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.issues = issues;
  }
}

const KEY_ITEM = "keel.apiKey";

/** The API key the console signs in with, kept for this browser tab only. */
export const apiKey = {
  get: (): string | null => sessionStorage.getItem(KEY_ITEM),
  set: (key: string) => sessionStorage.setItem(KEY_ITEM, key),
  clear: () => sessionStorage.removeItem(KEY_ITEM),
};

function headersWith(extra: Record<string, string> = {}): Record<string, string> {
  const key = apiKey.get();
  return { accept: "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...extra };
}

/** A query string from fields, leaving out those without a value: `query({ agent, limit: 50 })` → `?agent=…&limit=50`. */
export function query(fields: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

/**
 * Call a route: `api<"listRuns">("/v1/runs" + query({ limit: 50 }))`. The type parameter names the route whose
 * answer comes back. An error answer rejects with an ApiError carrying Keel's code and message.
 */
export async function api<Name extends RouteName>(
  path: string,
  init: { method?: "GET" | "POST" | "PUT" | "DELETE"; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<Name>> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? "GET",
      headers: headersWith({
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
        ...init.headers,
      }),
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  } catch (error) {
    throw new ApiError(0, "unavailable", `cannot reach the Keel server (${(error as Error).message})`);
  }
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  const parsed: unknown = type.includes("json") && text !== "" ? JSON.parse(text) : text;
  if (!response.ok) {
    const error = (
      parsed as { error?: { code?: string; message?: string; issues?: { path: string; message: string }[] } }
    )?.error;
    throw new ApiError(
      response.status,
      error?.code ?? "internal",
      error?.message ?? `the server answered ${response.status}`,
      error?.issues ?? [],
    );
  }
  return parsed as Answer<Name>;
}

/** One Server-Sent Event of a run's stream: its journal sequence (absent for text deltas), type and data. */
export type StreamedEvent = { id: string | null; event: string; data: string };

/**
 * Follow an event stream (a run's `/events`) with the signed-in key, which `EventSource` cannot send. Reconnects
 * after a dropped connection with `Last-Event-ID`, so no journaled event is missed or seen twice; ends when the
 * server ends the stream (the run ended) or `signal` aborts.
 */
export async function followEvents(
  path: string,
  onEvent: (event: StreamedEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  let lastId: string | null = null;
  let failures = 0;
  while (!signal.aborted) {
    try {
      const response = await fetch(path, {
        headers: headersWith({ accept: "text/event-stream", ...(lastId ? { "last-event-id": lastId } : {}) }),
        signal,
      });
      if (!response.ok || !response.body) {
        const text = await response.text();
        let message = `the server answered ${response.status}`;
        try {
          message = (JSON.parse(text) as { error: { message: string } }).error.message;
        } catch {}
        throw new ApiError(response.status, "stream", message);
      }
      failures = 0;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: StreamedEvent = { id: null, event: "message", data: "" };
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue;
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            const content = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "id") event.id = content;
            else if (field === "event") event.event = content;
            else if (field === "data") data.push(content);
          }
          event.data = data.join("\n");
          if (event.id) lastId = event.id;
          if (data.length > 0 || event.event !== "message") onEvent(event);
          end = buffer.indexOf("\n\n");
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) throw error;
      failures += 1;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** failures)));
    }
  }
}
