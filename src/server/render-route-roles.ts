import { CONTROL_PLANE_ROLES } from "../governance/control-plane-roles.ts";
import { ROUTE_ACCESS, type RouteAccess } from "./route-access.ts";

/**
 * The route × role table of docs/security.md, rendered from the route table the gate enforces, so the two cannot
 * disagree (a test compares them). ✔ allowed; `platform` marks routes only the platform tenant's keys may call.
 */
export function renderRouteRoleTable(table: readonly RouteAccess[] = ROUTE_ACCESS): string {
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
