import type { ServerOptions } from "node:http";
import { DEFAULT_BODY_READ_TIMEOUT_MS } from "./validate-json-body.ts";

/** How long a client may take: to send its headers, its whole request, and its body once the headers are in. */
export type HttpTimeouts = { headersMs?: number; requestMs?: number; bodyMs?: number };

const DEFAULT_HEADERS_MS = 10_000;
const DEFAULT_REQUEST_MS = 60_000;

/**
 * The Node HTTP server's side of slow clients: a connection that has not sent its headers within `headersMs`, or
 * its whole request within `requestMs`, is answered 408 and closed. Node looks for such connections on a timer
 * (30 s unless told), so it is set to a second at most, or the timeouts would be that much late. A response
 * streamed to a client (SSE) is not limited: only receiving the request is. The app keeps its own, shorter body
 * deadline (`bodyMs`, validate-json-body.ts) so a handler never waits on a trickle even behind another server.
 */
export function resolveHttpTimeouts(timeouts: HttpTimeouts = {}): {
  serverOptions: ServerOptions;
  bodyReadTimeoutMs: number;
} {
  const requestMs = timeouts.requestMs ?? DEFAULT_REQUEST_MS;
  const headersMs = Math.min(timeouts.headersMs ?? DEFAULT_HEADERS_MS, requestMs);
  return {
    serverOptions: {
      headersTimeout: headersMs,
      requestTimeout: requestMs,
      connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.floor(headersMs / 4))),
    },
    bodyReadTimeoutMs: timeouts.bodyMs ?? Math.min(DEFAULT_BODY_READ_TIMEOUT_MS, requestMs),
  };
}
