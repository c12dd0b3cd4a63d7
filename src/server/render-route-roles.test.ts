import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { renderEndpointTable, renderRouteRoleTable } from "./render-route-roles.ts";

const doc = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), "utf8");

describe("the route tables in the docs (regenerate them with `npx node scripts/render-route-tables.ts`)", () => {
  test("docs/security.md carries the route × role table the gate enforces", () => {
    assert.ok(
      doc("security.md").includes(renderRouteRoleTable()),
      "docs/security.md carries a stale route × role table",
    );
  });

  test("docs/api.md carries the endpoint table of the route declarations", () => {
    assert.ok(doc("api.md").includes(renderEndpointTable()), "docs/api.md carries a stale endpoint table");
  });
});
