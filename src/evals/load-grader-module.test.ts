import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadGraderModule } from "./load-grader-module.ts";

const grader = new URL("./grader.ts", import.meta.url).pathname;

test("a team's grader module is loaded by name; a module without graders or with two of a name is refused", async () => {
  const dir = await mkdtemp(join(tmpdir(), "keel-graders-"));
  const write = async (name: string, body: string) => {
    const file = join(dir, name);
    await writeFile(file, `import { defineGrader } from ${JSON.stringify(grader)};\n${body}\n`);
    return file;
  };
  const good = await loadGraderModule(
    await write(
      "good.ts",
      'export const graders = [defineGrader("short", ({ outcome }) => (outcome.answer ?? "").length < 20)];',
    ),
  );
  assert.deepEqual([...good.keys()], ["short"]);
  await assert.rejects(
    loadGraderModule(await write("none.ts", "export const other = 1;")),
    /does not export a `graders` array/,
  );
  await assert.rejects(
    loadGraderModule(
      await write(
        "twice.ts",
        'export const graders = [defineGrader("a", () => true), defineGrader("a", () => false)];',
      ),
    ),
    /two graders are named "a"/,
  );
  const example = await loadGraderModule(
    new URL("../../examples/support-triage/evals/graders.ts", import.meta.url).pathname,
  );
  const noLeaks = example.get("no-internal-details")!;
  const outcome = {
    runId: null,
    status: "completed",
    error: null,
    toolCalls: [],
    approvals: [],
    nodes: [],
    steps: 1,
    costUsd: 0,
    latencyMs: 1,
  };
  const evalCase = { id: "x", input: "x", category: "general", tags: [], expect: {} };
  const signal = new AbortController().signal;
  assert.equal(
    (
      await noLeaks.grade({
        case: evalCase,
        outcome: { ...outcome, answer: "Sorry, order 9999 was not found." },
        signal,
      })
    ).passed,
    true,
  );
  const leaked = await noLeaks.grade({
    case: evalCase,
    outcome: {
      ...outcome,
      answer: 'duplicate key value violates unique constraint "refunds_idempotency_key"',
    },
    signal,
  });
  assert.equal(leaked.passed, false);
});
