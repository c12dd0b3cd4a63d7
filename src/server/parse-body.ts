import type { Context } from "hono";
import type { z } from "zod";
import { KeelError } from "../errors/keel-error.ts";
import { isJsonMediaType } from "./input-rules.ts";

/**
 * Read a JSON body and validate it against the route's schema; a bad body is a 400 that names each bad field. The
 * input layer (validate-json-body.ts) has already refused a wrong media type, bad JSON and hostile content.
 */
export async function parseBody<Schema extends z.ZodType>(
  context: Context,
  schema: Schema,
): Promise<z.output<Schema>> {
  if (!isJsonMediaType(context.req.header("content-type"))) {
    throw new KeelError("invalid_request", "expected a JSON body with content-type: application/json");
  }
  let body: unknown;
  try {
    body = await context.req.json();
  } catch {
    throw new KeelError("invalid_request", "the body is not valid JSON");
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({
      path: issue.path.length > 0 ? issue.path.join(".") : "(body)",
      message: issue.message,
    }));
    throw new KeelError(
      "invalid_request",
      `invalid body: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}`,
      {
        issues,
      },
    );
  }
  return parsed.data;
}
