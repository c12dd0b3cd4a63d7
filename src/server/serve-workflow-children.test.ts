import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { z } from "zod";
import { defineAgent } from "../runtime/agent-package.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { defineTool } from "../tools/tool.ts";
import { createKeel, type Keel } from "./create-keel.ts";

const WORKFLOW = `apiVersion: keel/v1
kind: Workflow
name: vendor-review
version: 1.0.0
description: Screens a vendor through two checker agents at once.
owner: { team: procurement }
riskTier: 2
state:
  checks: { type: array, reducer: append }
start: screen
nodes:
  screen:
    parallel:
      branches:
        sanctions: { agent: { name: vendor-checker, input: "sanctions \${input.vendor}" } }
        news: { agent: { name: vendor-checker, input: "news \${input.vendor}" } }
      join: all
    writes: checks
    next: done
  done:
    end: { output: "\${state.checks}" }
`;

const AGENT = `apiVersion: keel/v1
kind: Agent
name: vendor-checker
version: 1.0.0
description: Checks one thing about a vendor.
owner: { team: procurement }
riskTier: 3
prompt: ./prompt.md
model:
  provider: anthropic
  id: claude-sonnet-4-5-20250929
  offline: ./rules.yaml
tools: [check_vendor]
governance:
  allowedTools: [check_vendor]
  decisionAuthority:
    autonomous: [check_vendor]
`;

const RULES = `apiVersion: keel/v1
kind: RulesTable
rules:
  - name: check
    when: { lastTool: none }
    call: { tool: check_vendor, arguments: { subject: "{{input}}" } }
  - name: answer
    when: { lastTool: check_vendor }
    answer: "clear: {{input}}"
`;

const checked: string[] = [];
const checkVendor = defineTool({
  name: "check_vendor",
  description: "Checks a vendor.",
  input: z.object({ subject: z.string() }),
  async execute({ subject }) {
    checked.push(subject);
    return { subject, clear: true };
  },
});

let dir: string;
let store: SqlStore;
let keel: Keel;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "keel-workflow-children-"));
  await writeFile(join(dir, "workflow.yaml"), WORKFLOW);
  await writeFile(join(dir, "agent.yaml"), AGENT);
  await writeFile(join(dir, "prompt.md"), "Check the vendor.");
  await writeFile(join(dir, "rules.yaml"), RULES);
  store = await openStore();
  keel = await createKeel({
    store,
    agents: [
      defineAgent({ spec: join(dir, "workflow.yaml"), tools: [] }),
      defineAgent({ spec: join(dir, "agent.yaml"), tools: [checkVendor] }),
    ],
    env: {},
    log: () => undefined,
  });
});
after(async () => {
  await keel.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

test("a served workflow's parallel agent branches run as child runs of the served agent, shown under it in the run tree", async () => {
  const started = await keel.fetch(
    new Request("http://127.0.0.1/v1/agents/vendor-review/runs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: JSON.stringify({ vendor: "Acme" }) }),
    }),
  );
  assert.equal(started.status, 202, await started.clone().text());
  const { id } = (await started.json()) as { id: string };
  let current: { status: string; answer: string | null } = { status: "queued", answer: null };
  for (let attempt = 0; attempt < 400 && !["completed", "failed"].includes(current.status); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    current = (await (
      await keel.fetch(new Request(`http://127.0.0.1/v1/runs/${id}`))
    ).json()) as typeof current;
  }
  assert.equal(current.status, "completed", JSON.stringify(current));
  assert.deepEqual([...(JSON.parse(current.answer!) as string[])].sort(), [
    "clear: news Acme",
    "clear: sanctions Acme",
  ]);
  assert.deepEqual([...checked].sort(), ["news Acme", "sanctions Acme"]);
  const tree = await keel.fetch(new Request(`http://127.0.0.1/v1/runs/${id}/tree`));
  assert.equal(tree.status, 200);
  const body = JSON.stringify(await tree.json());
  for (const child of await store.listChildren({ runId: id })) {
    assert.equal(child.agent, "vendor-checker");
    assert.equal(child.parentNode, "screen");
    assert.equal(child.status, "completed");
    assert.ok(body.includes(child.runId), "the tree lists each child run");
  }
  assert.match(body, /"parentNode":"screen"/);
});

test("a workflow that starts an agent this Keel does not serve stops the start, naming the node", async () => {
  const other = await openStore();
  try {
    await assert.rejects(
      createKeel({
        store: other,
        agents: [defineAgent({ spec: join(dir, "workflow.yaml"), tools: [] })],
        env: {},
        log: () => undefined,
      }),
      (error: Error) => {
        assert.match(error.message, /workflow vendor-review starts agents this Keel does not serve/);
        assert.match(
          error.message,
          /nodes\.screen\.parallel\.branches\.sanctions: starts agent vendor-checker/,
        );
        return true;
      },
    );
  } finally {
    await other.close();
  }
});
