import type { ApiRoute } from "../api/index.ts";

/** The declaration of the route a request is for, with the path parameters it captured. */
export type MatchedRoute = { route: ApiRoute; params: Record<string, string> };

declare module "hono" {
  interface ContextVariableMap {
    /** The declaration of this request's route, found once by the input layer (validate-input.ts). */
    route: MatchedRoute;
  }
}

/**
 * The declaration for a method and path (HEAD as GET), or null: an undeclared route is open to nobody. A static
 * segment wins over a parameter (`/v1/approvals/metrics` over `/v1/approvals/:id`), as Hono matches them.
 */
export function matchRouteAccess(
  table: readonly ApiRoute[],
  method: string,
  path: string,
): MatchedRoute | null {
  const wanted = method === "HEAD" ? "GET" : method;
  const segments = path.split("/");
  let best: (MatchedRoute & { captured: number }) | null = null;
  for (const route of table) {
    if (route.method !== wanted) continue;
    const pattern = route.path.split("/");
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let matched = true;
    for (let index = 0; index < pattern.length && matched; index++) {
      const expected = pattern[index]!;
      const actual = segments[index]!;
      if (expected.startsWith(":")) {
        if (actual === "") matched = false;
        else params[expected.slice(1)] = safeDecode(actual);
      } else if (expected !== actual) {
        matched = false;
      }
    }
    const captured = Object.keys(params).length;
    if (matched && (best === null || captured < best.captured)) best = { route, params, captured };
  }
  return best && { route: best.route, params: best.params };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
