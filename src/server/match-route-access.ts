import type { RouteAccess } from "./route-access.ts";

/** A route table entry that matched a request, with the path parameters it captured. */
export type MatchedRoute = { access: RouteAccess; params: Record<string, string> };

declare module "hono" {
  interface ContextVariableMap {
    /** The route table entry of this request, found once by the input layer (validate-input.ts). */
    route: MatchedRoute;
  }
}

/** The table entry for a method and path (HEAD as GET), or null: an unlisted route is open to nobody. */
export function matchRouteAccess(
  table: readonly RouteAccess[],
  method: string,
  path: string,
): MatchedRoute | null {
  const wanted = method === "HEAD" ? "GET" : method;
  const segments = path.split("/");
  for (const access of table) {
    if (access.method !== wanted) continue;
    const pattern = access.path.split("/");
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
    if (matched) return { access, params };
  }
  return null;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
