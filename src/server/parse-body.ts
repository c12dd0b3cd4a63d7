import type { Context } from "hono";
import type { z } from "zod";
import { KeelError } from "../errors/keel-error.ts";

/** Read a JSON body and validate it; a bad body is a 400 that names each bad field. */
export async function parseBody<Schema extends z.ZodType>(
  context: Context,
  schema: Schema,
): Promise<z.output<Schema>> {
  const type = context.req.header("content-type") ?? "";
  if (!type.includes("application/json")) {
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
