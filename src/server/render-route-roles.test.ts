import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { renderRouteRoleTable } from "./render-route-roles.ts";

describe("the route × role table in docs/security.md", () => {
  test("is the one the gate enforces (regenerate it with renderRouteRoleTable after changing route-access.ts)", () => {
    const docs = readFileSync(new URL("../../docs/security.md", import.meta.url), "utf8");
    assert.ok(docs.includes(renderRouteRoleTable()), "docs/security.md carries a stale route × role table");
  });
});
