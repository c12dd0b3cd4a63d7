import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { KeelError } from "../errors/index.ts";
import { isStoreUnavailable } from "../store/index.ts";
import { toChatError } from "./chat-completions-wire.ts";

/** Seconds a client is asked to wait before retrying while the store is unreachable. */
export const STORE_RETRY_AFTER_SECONDS = 5;

/** At most one "store unavailable" line per log and interval; the next line says how many were left out. */
const OUTAGE_LOG_INTERVAL_MS = 10_000;
const outageLogs = new WeakMap<(message: string) => void, { at: number; skipped: number }>();

function logOutage(log: (message: string) => void, message: string): void {
  const now = Date.now();
  const last = outageLogs.get(log);
  if (last && now - last.at < OUTAGE_LOG_INTERVAL_MS) {
    last.skipped += 1;
    return;
  }
  const skipped = last?.skipped ?? 0;
  outageLogs.set(log, { at: now, skipped: 0 });
  log(skipped > 0 ? `${message} (and ${skipped} more since the last such line)` : message);
}

/** What the client is told about an error, and whether it is the store being unreachable (worth a retry). */
function shownError(
  context: Context,
  error: unknown,
  log: (message: string) => void,
): { shown: KeelError; storeDown: boolean } {
  if (error instanceof KeelError) return { shown: error, storeDown: false };
  if (isStoreUnavailable(error)) {
    // Not a bug to hunt: a line without a stack, at most one per interval through an outage of any length.
    logOutage(
      log,
      `store unavailable on ${context.req.method} ${context.req.path}: ${error instanceof Error ? error.message : String(error)}`,
    );
    return {
      shown: new KeelError("unavailable", "the store is unreachable; retry shortly"),
      storeDown: true,
    };
  }
  log(
    `internal error on ${context.req.method} ${context.req.path}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return { shown: new KeelError("internal", "internal error; see the server log"), storeDown: false };
}

/**
 * Map any error to Keel's JSON error body; unexpected errors never show their message, stack or paths. A store that
 * cannot be reached is `503 unavailable` with `Retry-After`, never `500 internal`.
 */
export function errorResponse(context: Context, error: unknown, log: (message: string) => void): Response {
  const { shown, storeDown } = shownError(context, error, log);
  if (storeDown) context.header("Retry-After", String(STORE_RETRY_AFTER_SECONDS));
  return context.json(shown.toJSON(), shown.status as ContentfulStatusCode);
}

/** The same mapping in OpenAI's error shape, for the governed endpoint's clients. */
export function chatErrorResponse(
  context: Context,
  error: unknown,
  log: (message: string) => void,
): Response {
  const { shown, storeDown } = shownError(context, error, log);
  if (storeDown) context.header("Retry-After", String(STORE_RETRY_AFTER_SECONDS));
  return context.json(toChatError(shown), shown.status as ContentfulStatusCode);
}
