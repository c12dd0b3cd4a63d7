import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { loadAgentDirectories } from "./load-agent-directories.ts";
import { SpecError, type SpecIssue } from "./spec-error.ts";

function spec(name: string, extra = ""): string {
  return `apiVersion: keel/v1
kind: Agent
name: ${name}
version: 1.0.0
description: An example agent.
owner: { team: examples }
riskTier: 3
prompt: ./prompt.md
model: { provider: anthropic, id: claude-haiku-4-5-20251001 }
${extra}`;
}

/** Writes files under a fresh temp dir and returns it. */
function writeTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "keel-agents-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

async function issuesOf(directories: string[]): Promise<SpecIssue[]> {
  const error = await loadAgentDirectories(directories).then(
    () => assert.fail("expected the directories to be rejected"),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof SpecError);
  return [...error.issues];
}

describe("loadAgentDirectories", () => {
  test("loads every agent.yaml under the directories, sorted by path, skipping node_modules and dot folders", async () => {
    const root = writeTree({
      "examples/refunds/agent.yaml": spec("refunds"),
      "examples/refunds/prompt.md": "Refunds.",
      "examples/faq/agent.yaml": spec("faq"),
      "examples/faq/prompt.md": "FAQ.",
      "examples/faq/node_modules/pkg/agent.yaml": "not: valid",
      "examples/.cache/agent.yaml": "not: valid",
      "examples/notes.yaml": "not: an agent",
      "more/deep/down/agent.yaml": spec("deep"),
      "more/deep/down/prompt.md": "Deep.",
    });
    const agents = await loadAgentDirectories([join(root, "examples"), join(root, "more")]);
    assert.deepEqual(
      agents.map((agent) => agent.spec.name),
      ["faq", "refunds", "deep"],
    );
    assert.equal(agents[0]?.file, join(root, "examples/faq/agent.yaml"));
  });

  test("loads a spec file named directly in the list", async () => {
    const root = writeTree({ "solo/agent.yaml": spec("solo"), "solo/prompt.md": "Solo." });
    const agents = await loadAgentDirectories([join(root, "solo/agent.yaml")]);
    assert.deepEqual(
      agents.map((agent) => agent.spec.name),
      ["solo"],
    );
  });

  test("reports the issues of every file together", async () => {
    const root = writeTree({
      "a/agent.yaml": spec("alpha", "colour: blue\n"),
      "a/prompt.md": "A.",
      "b/agent.yaml": spec("beta").replace("riskTier: 3", "riskTier: 4"),
      "b/prompt.md": "B.",
      "c/agent.yaml": spec("gamma"),
      "c/prompt.md": "C.",
    });
    const issues = await issuesOf([root]);
    assert.deepEqual(
      issues.map((issue) => `${issue.file}:${issue.line}:${issue.column} ${issue.path}`),
      [`${join(root, "a/agent.yaml")}:10:1 colour`, `${join(root, "b/agent.yaml")}:7:11 riskTier`],
    );
  });

  test("reports an agent name used twice at the second file's name, naming the first file", async () => {
    const root = writeTree({
      "one/agent.yaml": spec("support"),
      "one/prompt.md": "One.",
      "two/agent.yaml": `# a copy\n${spec("support")}`,
      "two/prompt.md": "Two.",
    });
    const issues = await issuesOf([root]);
    assert.deepEqual(issues, [
      {
        file: join(root, "two/agent.yaml"),
        line: 4,
        column: 7,
        path: "name",
        message: `duplicate agent name "support": also used by ${join(root, "one/agent.yaml")}:3:7`,
      },
    ]);
  });

  test("reports a directory that does not exist", async () => {
    const missing = join(writeTree({}), "nowhere");
    const issues = await issuesOf([missing]);
    assert.deepEqual(issues, [
      { file: missing, line: 1, column: 1, path: "", message: `directory not found: ${missing}` },
    ]);
  });

  test("returns no agents for a directory without specs", async () => {
    assert.deepEqual(await loadAgentDirectories([writeTree({ "readme.md": "Nothing here." })]), []);
  });
});
