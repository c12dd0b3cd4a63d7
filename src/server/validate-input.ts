import type { Context, MiddlewareHandler } from "hono";
import { z } from "zod";
import { type FieldIssue, KeelError } from "../errors/keel-error.ts";
import { stringProblem } from "./input-rules.ts";
import { matchRouteAccess } from "./match-route-access.ts";
import type { RouteAccess } from "./route-access.ts";

const PARAM = /^[A-Za-z0-9._:@~-]{1,200}$/;

/**
 * The first half of the input layer, in front of the authorization gate: everything a request carries outside its
 * body. Every header value, path parameter and query field (names too) is refused with a 400 naming it when it
 * holds a NUL or an unpaired surrogate; path parameters must be identifiers; query fields must be the route's own
 * and match the route table's schema (route-access.ts), which bounds every number and time to what the column it
 * is compared with can hold. The body is checked by `validateJsonBody`, once the gate has capped its size.
 */
export function validateInput(options: { table: readonly RouteAccess[] }): MiddlewareHandler {
  const { table } = options;
  const queries = new Map(
    table.map((access) => [
      access,
      z.strictObject(
        Object.fromEntries(
          Object.entries(access.query ?? {}).map(([name, schema]) => [name, schema.optional()]),
        ),
      ),
    ]),
  );
  return async (context, next) => {
    for (const [name, value] of context.req.raw.headers) {
      const problem = stringProblem(value);
      if (problem) throw refuse(`header ${name}`, problem);
    }
    const matched = matchRouteAccess(table, context.req.method, context.req.path);
    // An unlisted route is the gate's to refuse (404), after the header check above.
    if (!matched) return await next();
    for (const [name, value] of Object.entries(matched.params)) {
      const problem = stringProblem(value);
      if (problem) throw refuse(name, problem);
      if (!PARAM.test(value)) {
        throw new KeelError("invalid_request", `${name} is not a valid identifier`, {
          issues: [{ path: name, message: "expected 1 to 200 letters, digits or ._:@~-" }],
        });
      }
    }
    for (const [name, values] of Object.entries(context.req.queries())) {
      const nameProblem = stringProblem(name);
      if (nameProblem)
        throw refuse(JSON.stringify(name).slice(1, -1), `the query field's name ${nameProblem}`);
      for (const value of values) {
        const problem = stringProblem(value);
        if (problem) throw refuse(name, problem);
      }
    }
    checkQuery(queries.get(matched.access)!, context);
    context.set("route", matched);
    return await next();
  };
}

function refuse(field: string, message: string): KeelError {
  return new KeelError("invalid_request", `${field} ${message}`, { issues: [{ path: field, message }] });
}

function checkQuery(schema: z.ZodType<Record<string, string | undefined>>, context: Context): void {
  const parsed = schema.safeParse(context.req.query());
  if (parsed.success) return;
  const issues: FieldIssue[] = parsed.error.issues.map((issue) => ({
    path:
      issue.path.length > 0
        ? issue.path.join(".")
        : ((issue as { keys?: string[] }).keys?.join(", ") ?? "(query)"),
    message: issue.code === "unrecognized_keys" ? "not a query field of this route" : issue.message,
  }));
  throw new KeelError(
    "invalid_request",
    `invalid query: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}`,
    { issues },
  );
}
