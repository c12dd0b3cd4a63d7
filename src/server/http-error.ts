import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { KeelError } from "../errors/keel-error.ts";

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
