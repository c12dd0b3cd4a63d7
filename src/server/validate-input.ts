import type { MiddlewareHandler } from "hono";
import { type ApiRoute, Identifier } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import { stringProblem } from "./input-rules.ts";
import { matchRouteAccess } from "./match-route-access.ts";
import { queryOf } from "./register-route.ts";

/**
 * The first half of the input layer, in front of the authorization gate: everything a request carries outside its
 * body. Every header value, path parameter and query field (names too) is refused with a 400 naming it when it
 * holds a NUL or an unpaired surrogate; path parameters must be identifiers; query fields must be the route's own
 * and match the route's declaration (src/api/routes.ts), which bounds every number and time to what the column it
 * is compared with can hold. The body is checked by `validateJsonBody`, once the gate has capped its size.
 */
export function validateInput(options: { table: readonly ApiRoute[] }): MiddlewareHandler {
  const { table } = options;
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
      const identifier = Identifier.safeParse(value);
      if (!identifier.success) {
        throw new KeelError("invalid_request", `${name} is not a valid identifier`, {
          issues: [{ path: name, message: identifier.error.issues[0]!.message }],
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
    queryOf(matched.route, context);
    context.set("route", matched);
    return await next();
  };
}

function refuse(field: string, message: string): KeelError {
  return new KeelError("invalid_request", `${field} ${message}`, { issues: [{ path: field, message }] });
}
