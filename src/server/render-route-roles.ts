import type { z } from "zod";
import { API_ROUTE_LIST, type ApiRoute } from "../api/index.ts";
import { CONTROL_PLANE_ROLES } from "../governance/index.ts";

/**
 * The route × role table of docs/security.md, rendered from the route declarations the gate enforces, so the two
 * cannot disagree (a test compares them). ✔ allowed; `platform` marks routes only the platform tenant's keys may call.
 */
export function renderRouteRoleTable(table: readonly ApiRoute[] = API_ROUTE_LIST): string {
  const header = `| route | ${CONTROL_PLANE_ROLES.join(" | ")} | what it is |`;
  const rule = `|---|${CONTROL_PLANE_ROLES.map(() => "---").join("|")}|---|`;
  const rows = table.map((access) => {
    const cells = CONTROL_PLANE_ROLES.map((role) => {
      if (access.roles === "public") return "public";
      return role === "admin" || access.roles.includes(role) ? "✔" : "";
    });
    const notes = [access.summary, ...(access.platform ? ["(platform tenant only)"] : [])].join(" ");
    return `| \`${access.method} ${access.path}\` | ${cells.join(" | ")} | ${notes} |`;
  });
  return [header, rule, ...rows].join("\n");
}

/**
 * The endpoint table of docs/api.md, rendered from the route declarations (a test keeps it current): each route with
 * its query fields, the roles that may call it, what it does with the body fields it takes, and what it answers.
 */
export function renderEndpointTable(table: readonly ApiRoute[] = API_ROUTE_LIST): string {
  const header = "| method and path | roles | what it does | success |";
  const rule = "|---|---|---|---|";
  const rows = table.map((route) => {
    const fields = Object.keys(route.query?.shape ?? {});
    const path = `${route.path.replace(/:(\w+)/g, "{$1}")}${fields.length > 0 ? `?${fields.map((name) => `${name}=`).join("&")}` : ""}`;
    const roles =
      route.roles === "public"
        ? "public"
        : `${["admin", ...route.roles].join(", ")}${route.platform ? " (platform tenant)" : ""}`;
    const optionalBody = route.body?.safeParse(undefined).success ? " (optional)" : "";
    const body = route.body ? ` Body${optionalBody}: \`${bodySynopsis(route.body)}\`.` : "";
    const does = `${route.description ?? route.summary}.${body}`.replaceAll("|", "\\|");
    const media = route.produces && route.produces !== "application/json" ? ` ${route.produces}` : "";
    const success = (route.success ?? `\`${route.status ?? 200}${media}\``).replaceAll("|", "\\|");
    return `| \`${route.method} ${path}\` | ${roles} | ${does} | ${success} |`;
  });
  return [header, rule, ...rows].join("\n");
}

/** The top-level fields of a body, `?` marking the optional ones: `{input, idempotencyKey?}`. */
function bodySynopsis(schema: z.ZodType): string {
  let inner = schema as z.ZodType & { unwrap?: () => z.ZodType; shape?: Record<string, z.ZodType> };
  while (inner.shape === undefined && typeof inner.unwrap === "function")
    inner = inner.unwrap() as typeof inner;
  if (inner.shape === undefined) return "JSON";
  const fields = Object.entries(inner.shape).map(
    ([name, field]) => `${name}${field.safeParse(undefined).success ? "?" : ""}`,
  );
  return `{${fields.join(", ")}}`;
}
