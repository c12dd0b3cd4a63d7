import type { MiddlewareHandler } from "hono";
import { KeelError } from "../errors/index.ts";
import { isLoopbackHost } from "./control-plane-config.ts";

/** Where the server listens, once it does. */
export type BoundAddress = { host: string; port: number };

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Keep web pages the user visits from driving the API through their browser (docs/security.md, "Browser safety").
 *
 * - `checkHost` (development mode, where every request acts as the local admin): the `Host` header must name this
 *   server — a loopback name (`localhost`, `127.x.x.x`, `[::1]`) or the bound host, with the bound port — so a page
 *   whose own name was re-pointed at 127.0.0.1 (DNS rebinding) is refused. A request without `Host` cannot come
 *   from a browser (HTTP/1.1 requires it) and passes.
 * - Always: a state-changing request (POST, PUT, PATCH, DELETE) that carries an `Origin` must come from this
 *   server's own origin or one listed in `allowedOrigins` (`keel serve --allow-origin`); `Origin: null` (sandboxed
 *   frames, files) is refused. Clients that are not browsers send no `Origin` and pass.
 *
 * Together with the exact `application/json` media type (validate-json-body.ts), which a page can only send after a
 * CORS preflight that Keel never grants, this closes the ways a page could reach a development server.
 */
export function guardBrowserRequests(options: {
  checkHost: boolean;
  /** Where the server listens; null in process (no socket, no port to compare). */
  address: () => BoundAddress | null;
  allowedOrigins: readonly string[];
}): MiddlewareHandler {
  const allowed = new Set(options.allowedOrigins);
  return async (context, next) => {
    const host = context.req.header("host");
    if (options.checkHost && host !== undefined && !namesThisServer(host, options.address())) {
      throw new KeelError(
        "forbidden",
        `the Host header names ${host}, not this server: a development server answers only to its loopback address`,
      );
    }
    const origin = context.req.header("origin");
    if (origin !== undefined && STATE_CHANGING.has(context.req.method)) {
      const own = host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
      if (!own && !allowed.has(origin)) {
        throw new KeelError(
          "forbidden",
          `a ${context.req.method} from the web origin ${origin} is refused; start keel serve with --allow-origin ${origin} to allow it`,
        );
      }
    }
    return await next();
  };
}

/** True when a Host header value names a loopback address or the bound host, on the bound port. */
function namesThisServer(host: string, address: BoundAddress | null): boolean {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(host.trim());
  if (!match) return false;
  const name = match[1]!.toLowerCase();
  const port = match[2] === undefined ? 80 : Number(match[2]);
  if (address && port !== address.port) return false;
  const bound = address?.host.toLowerCase();
  return isLoopbackHost(name) || name === bound || name === `[${bound}]`;
}

/**
 * The web origins allowed to change state, as given to `--allow-origin` or `KEEL_ALLOW_ORIGINS`: each exactly
 * `scheme://host[:port]` with scheme http or https, as a browser writes it in `Origin`.
 */
export function parseAllowedOrigins(values: readonly string[], source: string): string[] {
  return values
    .map((value) => value.trim())
    .filter((value) => value !== "")
    .map((value) => {
      let origin: string | null = null;
      try {
        const url = new URL(value);
        if ((url.protocol === "http:" || url.protocol === "https:") && url.origin === value)
          origin = url.origin;
      } catch {
        origin = null;
      }
      if (origin === null) {
        throw new KeelError(
          "invalid_request",
          `${source}: "${value}" is not a web origin; write it as a browser sends it, e.g. http://localhost:5173`,
          { issues: [{ path: source, message: "expected scheme://host[:port] with http or https" }] },
        );
      }
      return origin;
    });
}
