import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { loadAgentSpec } from "./load-agent-spec.ts";
import { SpecError } from "./spec-error.ts";

const SPEC = `apiVersion: keel/v1
kind: Agent
name: support-triage
version: 1.4.0
description: Tier-1 customer support.
owner: { team: support-ops }
riskTier: 2
prompt: ./prompt.md
model: { provider: anthropic, id: claude-sonnet-4-5-20250929 }
evals:
  datasets: [./evals/golden.yaml]
  gate: { minScore: 0.95 }
  productionSampling: 0.05
`;

function writeAgent(spec: string): string {
  const dir = mkdtempSync(join(tmpdir(), "keel-evals-spec-"));
  for (const [name, text] of Object.entries({ "agent.yaml": spec, "prompt.md": "You help.\n" })) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return join(dir, "agent.yaml");
}

test("the spec loader validates the evals section and fills in its defaults", async () => {
  const loaded = await loadAgentSpec(writeAgent(SPEC));
  assert.deepEqual(loaded.spec.evals?.gate, { minScore: 0.95, maxRegression: 0.02, alpha: 0.05 });
  assert.deepEqual(loaded.spec.evals?.calibration, { minKappa: 0.7, minLowerBound: 0.6, minLabels: 200 });
  assert.equal(loaded.spec.evals?.productionSampling, 0.05);
});

test("a bad evals field is reported at its line", async () => {
  const bad = SPEC.replace("productionSampling: 0.05", "productionSampling: 5\n  gates: {}");
  await assert.rejects(loadAgentSpec(writeAgent(bad)), (error: unknown) => {
    assert.ok(error instanceof SpecError);
    const found = error.issues.map((issue) => [issue.line, issue.path]);
    assert.deepEqual(found, [
      [13, "evals.productionSampling"],
      [14, "evals.gates"],
    ]);
    return true;
  });
});
