import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { renderJsonSchemas } from "./render-json-schemas.ts";

const SCHEMAS_DIR = join(import.meta.dirname, "..", "..", "schemas");

describe("renderJsonSchemas", () => {
  test("matches the committed schemas/ files (run `node scripts/export-schemas.ts` after changing a schema)", () => {
    for (const [name, text] of Object.entries(renderJsonSchemas())) {
      const committed = JSON.parse(readFileSync(join(SCHEMAS_DIR, name), "utf8"));
      assert.deepEqual(
        committed,
        JSON.parse(text),
        `schemas/${name} is stale: run node scripts/export-schemas.ts`,
      );
    }
  });

  test("describes the input side, so fields with defaults are optional and show their defaults", () => {
    const schema = JSON.parse(renderJsonSchemas()["agent-spec.schema.json"]!);
    assert.equal(schema.title, "Keel agent spec");
    assert.ok(!schema.required.includes("limits"));
    assert.ok(!schema.required.includes("tools"));
    assert.equal(schema.properties.limits.properties.runTimeout.default, "120s");
    assert.equal(schema.properties.additionalProperties, undefined);
    assert.equal(schema.additionalProperties, false);
    assert.match(schema.properties.prompt.description, /system prompt/);
  });

  test("gives every field of both formats a description for hover docs", () => {
    for (const [name, text] of Object.entries(renderJsonSchemas())) {
      const undocumented: string[] = [];
      const visit = (node: unknown, path: string) => {
        if (node === null || typeof node !== "object") return;
        const properties = (node as { properties?: Record<string, unknown> }).properties ?? {};
        for (const [key, child] of Object.entries(properties)) {
          if (!(child as { description?: string }).description) undocumented.push(`${path}.${key}`);
        }
        for (const [key, child] of Object.entries(node))
          visit(child, key === "properties" ? path : `${path}/${key}`);
      };
      visit(JSON.parse(text), name);
      assert.deepEqual(undocumented, []);
    }
  });
});
