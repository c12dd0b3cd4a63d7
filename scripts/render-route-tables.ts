/**
 * `npx node scripts/render-route-tables.ts`: rewrites the route tables of docs/api.md (endpoints) and
 * docs/security.md (route × role) from the route declarations in src/api/routes.ts. A test fails when they are stale.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderEndpointTable, renderRouteRoleTable } from "../src/server/render-route-roles.ts";

const root = join(import.meta.dirname, "..");
replaceTable(join(root, "docs", "api.md"), "| method and path |", renderEndpointTable());
replaceTable(join(root, "docs", "security.md"), "| route | admin |", renderRouteRoleTable());

/** Replace the Markdown table whose header starts with `header` by `table`. */
function replaceTable(file: string, header: string, table: string): void {
  const lines = readFileSync(file, "utf8").split("\n");
  const start = lines.findIndex((line) => line.startsWith(header));
  if (start < 0) throw new Error(`${file} has no table starting with ${header}`);
  let end = start;
  while (end < lines.length && lines[end]!.startsWith("|")) end++;
  lines.splice(start, end - start, ...table.split("\n"));
  writeFileSync(file, lines.join("\n"));
  console.log(`wrote ${file.slice(root.length + 1)}`);
}
