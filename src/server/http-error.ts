import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { KeelError } from "../errors/keel-error.ts";
import { toChatError } from "./chat-completions-wire.ts";

/** Map any error to Keel's JSON error body; unexpected errors never show their message, stack or paths. */
export function errorResponse(context: Context, error: unknown, log: (message: string) => void): Response {
  if (error instanceof KeelError) {
    return context.json(error.toJSON(), error.status as ContentfulStatusCode);
  }
  log(
    `internal error on ${context.req.method} ${context.req.path}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return context.json(new KeelError("internal", "internal error; see the server log").toJSON(), 500);
}

/** The same mapping in OpenAI's error shape, for the governed endpoint's clients. */
export function chatErrorResponse(
  context: Context,
  error: unknown,
  log: (message: string) => void,
): Response {
  if (!(error instanceof KeelError)) {
    log(
      `internal error on ${context.req.method} ${context.req.path}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }
  const shown =
    error instanceof KeelError ? error : new KeelError("internal", "internal error; see the server log");
  return context.json(toChatError(shown), shown.status as ContentfulStatusCode);
}
