/**
 * `node scripts/export-schemas.ts`: writes the JSON Schemas of the spec formats to `schemas/`, for editors
 * (`# yaml-language-server: $schema=../../schemas/agent-spec.schema.json`). A test fails when they are stale.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderJsonSchemas } from "../src/spec/render-json-schemas.ts";

const root = join(import.meta.dirname, "..");
const files = Object.entries(renderJsonSchemas()).map(([name, text]) => {
  const file = join(root, "schemas", name);
  writeFileSync(file, text);
  return file;
});
// Formatted by the repo's formatter so `biome check .` stays clean; the freshness test compares content only.
execFileSync(join(root, "node_modules", ".bin", "biome"), ["format", "--write", ...files], {
  stdio: "inherit",
});
for (const file of files) console.log(`wrote ${file.slice(root.length + 1)}`);
