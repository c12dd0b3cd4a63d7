import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";

/** A streamed call asks for `"stream": true` at the top of its body; those keep the platform's fetch. */
const STREAMED = /"stream"\s*:\s*true/;
/** Statuses whose response has no body, which `Response` refuses one for. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A `fetch` for the model adapters' non-streamed calls: one POST of a JSON text body, answered with the whole
 * response read into memory, over `node:http`/`node:https` with keep-alive agents. It skips the platform fetch's
 * web-stream machinery (undici's request, body streams and connection pool), which is most of what a non-streamed
 * call through the gateway costs in CPU besides the provider's own parsing. Anything else — a streamed call (SSE is
 * read as it arrives), a body that is not a string, a `Request` object — goes to `fallback`, the platform fetch.
 *
 * It behaves as `fetch` where the AI SDK looks: an abort rejects with the signal's reason (and destroys the
 * socket), a connection failure rejects with `TypeError("fetch failed")` whose `cause` is the socket's error (so
 * it is classified as a retryable connection error), compressed answers are decompressed. Redirects are not
 * followed (a provider's API does not redirect; a 3xx reaches the adapter as a failed call).
 */
export function createNodeHttpFetch(
  options: { fallback?: typeof globalThis.fetch; maxSockets?: number } = {},
): typeof globalThis.fetch {
  const fallback = options.fallback ?? ((input, init) => globalThis.fetch(input, init));
  const agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 }),
    https: new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets ?? 256 }),
  };
  return async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : null;
    const body = init?.body;
    if (url === null || typeof body !== "string" || STREAMED.test(body)) return await fallback(input, init);
    const signal = init?.signal ?? null;
    signal?.throwIfAborted();
    const target = new URL(url);
    const secure = target.protocol === "https:";
    const headers: Record<string, string | number> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    headers["content-length"] = Buffer.byteLength(body);
    return await new Promise<Response>((resolve, reject) => {
      let settled = false;
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener("abort", onAbort);
        outcome();
      };
      const failed = (error: unknown) =>
        finish(() => reject(new TypeError("fetch failed", { cause: error })));
      const onAbort = () => {
        finish(() => reject(signal?.reason));
        outgoing.destroy();
      };
      const outgoing = (secure ? httpsRequest : httpRequest)(
        {
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          method: init?.method ?? "POST",
          headers,
          agent: secure ? agents.https : agents.http,
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
          incoming.on("error", failed);
          incoming.on("aborted", () => failed(new Error("the response was cut off")));
          incoming.on("end", () => {
            try {
              const response = toResponse(incoming, Buffer.concat(chunks));
              finish(() => resolve(response));
            } catch (error) {
              failed(error);
            }
          });
        },
      );
      outgoing.on("error", failed);
      signal?.addEventListener("abort", onAbort, { once: true });
      outgoing.end(body);
    });
  };
}

let shared: typeof globalThis.fetch | undefined;

/** The process's one `createNodeHttpFetch()`, so every adapter shares its keep-alive connections. */
export function sharedNodeHttpFetch(): typeof globalThis.fetch {
  shared ??= createNodeHttpFetch();
  return shared;
}

function toResponse(incoming: IncomingMessage, raw: Buffer): Response {
  const status = incoming.statusCode ?? 0;
  const headers = new Headers();
  for (let index = 0; index + 1 < incoming.rawHeaders.length; index += 2) {
    headers.append(incoming.rawHeaders[index]!, incoming.rawHeaders[index + 1]!);
  }
  const encoding = headers.get("content-encoding")?.trim().toLowerCase();
  let payload = raw;
  if (encoding && encoding !== "identity" && raw.length > 0) {
    payload =
      encoding === "gzip" || encoding === "x-gzip"
        ? gunzipSync(raw)
        : encoding === "br"
          ? brotliDecompressSync(raw)
          : encoding === "deflate"
            ? inflateSync(raw)
            : raw;
    if (payload !== raw) {
      headers.delete("content-encoding");
      headers.delete("content-length");
    }
  }
  return new Response(NULL_BODY.has(status) ? null : payload, {
    status,
    statusText: incoming.statusMessage ?? "",
    headers,
  });
}
