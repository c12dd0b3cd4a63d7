import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { captureIo } from "../../test/support/capture-io.ts";
import { main } from "./main.ts";

const EXAMPLE_TESTS = join(
  import.meta.dirname,
  "..",
  "..",
  "examples",
  "support-triage",
  "policies",
  "policy-tests.yaml",
);
const toolModule = pathToFileURL(join(import.meta.dirname, "..", "tools", "tool.ts")).href;
// The package lives in a temporary directory, outside node_modules' reach, so it imports zod by its resolved URL.
const zodModule = import.meta.resolve("zod");

/** A package with one refund tool and the given team policy file. */
function writePackage(cedar: string): string {
  const dir = mkdtempSync(join(tmpdir(), "keel-policy-"));
  const files: Record<string, string> = {
    "agent.yaml": `apiVersion: keel/v1
kind: Agent
name: refunder
version: 2.0.0
description: Refunds.
owner: { team: qa }
riskTier: 2
prompt: ./prompt.md
model: { provider: scripted, id: test }
tools: [issue_refund]
governance:
  allowedTools: [issue_refund]
  decisionAuthority:
    requiresHumanReview: [{ tool: issue_refund, when: "input.amount > 100" }]
  dataAccess: { allowFinancial: true }
  policies: [./team.cedar]
`,
    "prompt.md": "Refund.\n",
    "team.cedar": cedar,
    "index.ts": `import { z } from ${JSON.stringify(zodModule)};
import { defineTool } from ${JSON.stringify(toolModule)};
export const agentPackages = [{
  name: "refunder",
  specFile: ${JSON.stringify(join(dir, "agent.yaml"))},
  createTools: () => [defineTool({
    name: "issue_refund",
    description: "Refund.",
    input: z.object({ orderId: z.number().int(), amount: z.number() }),
    dataClasses: ["financial"],
    async execute() { return {}; },
  })],
}];
`,
    "tests.yaml": `apiVersion: keel/v1
kind: PolicyTests
agent: refunder
tests:
  - { name: small refunds run, tool: issue_refund, input: { orderId: 1, amount: 5 }, expect: allow }
  - { name: this row is wrong on purpose, tool: issue_refund, input: { orderId: 1, amount: 150 }, expect: allow }
`,
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe("keel policy", () => {
  test("validate checks the bundled examples' policies against their tools' schemas", async () => {
    const io = captureIo();
    assert.equal(await main(["policy", "validate"], io), 0, io.stderr.join("\n"));
    assert.deepEqual(io.stdout, [
      "✔ support-triage@1.0.0: 15 policies valid against the schema of 6 tools",
      "✔ it-helpdesk@1.0.0: 7 policies valid against the schema of 4 tools",
      "✔ service-desk@1.0.0: 3 policies valid against the schema of 1 tools",
      "✔ vendor-diligence@1.0.0: 7 policies valid against the schema of 3 tools",
      "✔ sanctions-check@1.0.0: 3 policies valid against the schema of 1 tools",
      "✔ financials-check@1.0.0: 3 policies valid against the schema of 1 tools",
      "✔ news-check@1.0.0: 3 policies valid against the schema of 1 tools",
      "✔ certifications-check@1.0.0: 3 policies valid against the schema of 1 tools",
      "✔ alert-triage@1.0.0: 11 policies valid against the schema of 5 tools",
      "✔ invoice-approval@1.0.0: 9 policies valid against the schema of 4 tools",
    ]);
  });

  test("validate names a team policy that reads a field the tool does not have", async () => {
    const dir = writePackage(
      '@id("typo") forbid(principal, action == Keel::Action::"tool:issue_refund", resource) when { context.input.amout > 5 };\n',
    );
    const io = captureIo();
    assert.equal(await main(["policy", "validate", "--packages", join(dir, "index.ts")], io), 1);
    assert.match(io.stderr.join("\n"), /✖ refunder@2\.0\.0: 1 issue/);
    assert.match(
      io.stderr.join("\n"),
      /team\.cedar#typo \(team\.cedar\): .*attribute `input\.amout` .* not found — did you mean `amount`\?/,
    );
  });

  test("test runs the bundled example's table and passes every row", async () => {
    const io = captureIo();
    assert.equal(await main(["policy", "test", EXAMPLE_TESTS], io), 0, io.stdout.join("\n"));
    assert.equal(io.stdout.at(-1), "12 passed, 0 failed");
  });

  test("test reports a failing row with what was expected and what the policies decided", async () => {
    const dir = writePackage('@id("none") forbid(principal, action, resource) when { false };\n');
    const io = captureIo();
    assert.equal(
      await main(["policy", "test", join(dir, "tests.yaml"), "--packages", join(dir, "index.ts")], io),
      1,
    );
    assert.deepEqual(io.stdout.slice(1), [
      "  ✔ small refunds run",
      "  ✖ this row is wrong on purpose: expected allow, got review",
      "1 passed, 1 failed",
    ]);
  });

  test("schema prints the Cedar schema with one action per tool, typed from its JSON Schema", async () => {
    const io = captureIo();
    assert.equal(await main(["policy", "schema", "support-triage"], io), 0);
    const text = io.stdout.join("\n");
    assert.match(text, /action "tool:issue_refund" in \[Action::"call_tool"\] appliesTo/);
    assert.match(text, /limit\?: __cedar::Long/);
  });
});
