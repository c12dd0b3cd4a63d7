import type { Context, Hono } from "hono";
import { z } from "zod";
import type { ApiRoute, RouteBody, RouteParams, RouteQuery } from "../api/index.ts";
import { type FieldIssue, KeelError } from "../errors/index.ts";
import { isJsonMediaType } from "./input-rules.ts";

/** What a handler is given: the request's path parameters, query fields and body, validated by the declaration. */
export type RouteInput<Route extends ApiRoute> = {
  params: RouteParams<Route>;
  query: RouteQuery<Route>;
  body: RouteBody<Route>;
};

/** The work of one route, given its validated input; it answers as its declaration says. */
export type RouteHandler<Route extends ApiRoute> = (
  input: RouteInput<Route>,
  context: Context,
) => Response | Promise<Response>;

/**
 * Register a route's handler on Hono from its declaration (src/api/routes.ts). The authorization gate and the input
 * layer in front of it read the same declaration; here the query fields are parsed to what the handler reads and
 * the body is checked against the route's schema — unknown fields, types and ranges answer 400 naming each field.
 * A route without a body schema ignores any body sent.
 */
export function registerRoute<Route extends ApiRoute>(
  app: Hono,
  route: Route,
  handler: RouteHandler<Route>,
): void {
  app.on(route.method, route.path, async (context) => {
    const query = queryOf(route, context);
    const body = route.body === undefined ? undefined : await bodyOf(context, route.body);
    const params = context.req.param() as RouteParams<Route>;
    return await handler({ params, query, body } as RouteInput<Route>, context);
  });
}

const NO_QUERY = z.strictObject({});

/** The route's query fields, validated and parsed; any field the route does not take is a 400 naming it. */
export function queryOf<Route extends ApiRoute>(route: Route, context: Context): RouteQuery<Route> {
  const parsed = (route.query ?? NO_QUERY).safeParse(context.req.query());
  if (parsed.success) return parsed.data as RouteQuery<Route>;
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

const EXPECTED_JSON = "expected a JSON body with content-type: application/json";

/**
 * The body, validated against the route's schema. The input layer (validate-json-body.ts) has already refused a
 * wrong media type, bad JSON and hostile content on the server; this also holds for a route mounted on its own.
 * An empty body is no body: the schema says whether the route needs one.
 */
async function bodyOf(context: Context, schema: z.ZodType): Promise<unknown> {
  const checked = context.get("checkedBody");
  const text = checked ? checked.text : await context.req.text();
  let value: unknown = checked?.value;
  if (!checked && text !== "") {
    if (!isJsonMediaType(context.req.header("content-type")))
      throw new KeelError("invalid_request", EXPECTED_JSON);
    try {
      value = JSON.parse(text);
    } catch {
      throw new KeelError("invalid_request", "the body is not valid JSON");
    }
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  if (value === undefined) {
    throw new KeelError("invalid_request", EXPECTED_JSON, {
      issues: [{ path: "(body)", message: "expected a JSON body" }],
    });
  }
  const issues = parsed.error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join(".") : "(body)",
    message: issue.message,
  }));
  throw new KeelError(
    "invalid_request",
    `invalid body: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}`,
    { issues },
  );
}
