import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isKeelError } from "../errors/index.ts";
import { type LoopbackProvider, startLoopbackProvider } from "../models/loopback/loopback-provider-server.ts";
import { defineAgent } from "../runtime/agent-package.ts";
import { loadWorkflowSpec } from "../spec/index.ts";
import { openStore } from "../store/open-store.ts";
import { chooseWorkflowModel } from "./choose-workflow-model.ts";
import { createKeel } from "./create-keel.ts";

const RULES = `apiVersion: keel/v1
kind: RulesTable
rules:
  - name: anything-is-billing
    when: { input: "." }
    answer: billing
`;

/** A router: one decide node (with or without offline rules) sends the request to billing or shipping. */
function workflow(options: { model: string; rules: boolean }): string {
  return `apiVersion: keel/v1
kind: Workflow
name: desk-router
version: 1.0.0
description: Routes a request to billing or shipping.
owner: { team: desk }
riskTier: 3
${options.model}
state:
  topic: { type: string }
start: classify
nodes:
  classify:
    decide:
      prompt: "Which desk handles this request?"
      input: "\${input}"
      labels: [billing, shipping]
      fallback: billing${options.rules ? "\n      rules: ./rules.yaml" : ""}
    writes: topic
    next: { billing: billing, shipping: shipping }
  billing:
    end: { output: "billing desk" }
  shipping:
    end: { output: "shipping desk" }
governance:
  allowedTools: []
`;
}

const ANTHROPIC = "model:\n  provider: anthropic\n  id: claude-sonnet-4-5-20250929";

let dir: string;
async function specFile(options: { model: string; rules: boolean }): Promise<string> {
  const file = join(dir, `workflow-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, workflow(options));
  return file;
}

describe("choosing a workflow's model", () => {
  let server: LoopbackProvider;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "keel-workflow-model-"));
    await writeFile(join(dir, "rules.yaml"), RULES);
    server = await startLoopbackProvider({ wire: "anthropic" });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("a workflow whose model is the rules engine answers its decide nodes from their rules tables, said so", async () => {
    const choice = chooseWorkflowModel(
      await loadWorkflowSpec(
        await specFile({ model: "model:\n  provider: rules\n  id: desk-rules", rules: true }),
      ),
      {},
    );
    assert.equal(choice.provider.offline, true);
    assert.equal(choice.label, "offline: each decide node's rules table");
  });

  test("without the provider's key the rules tables stand in, labelled with the variable to set", async () => {
    const loaded = await loadWorkflowSpec(await specFile({ model: ANTHROPIC, rules: true }));
    const choice = chooseWorkflowModel(loaded, {});
    assert.equal(choice.provider.offline, true);
    assert.equal(
      choice.label,
      "rules — offline stand-in for anthropic/claude-sonnet-4-5-20250929 (ANTHROPIC_API_KEY is not set): each decide node's rules table",
    );
  });

  test("without the key and a decide node without rules, the start stops naming the variable and the node", async () => {
    const loaded = await loadWorkflowSpec(await specFile({ model: ANTHROPIC, rules: false }));
    assert.throws(
      () => chooseWorkflowModel(loaded, {}),
      (error: unknown) =>
        isKeelError(error, "invalid_spec") &&
        /ANTHROPIC_API_KEY is not set\. Set ANTHROPIC_API_KEY .* give the decide nodes classify a rules table/.test(
          error.message,
        ),
    );
  });

  test("a served workflow with its provider's key asks the hosted model at its decide node instead of the rules", async () => {
    const store = await openStore();
    const keel = await createKeel({
      store,
      agents: [defineAgent({ spec: await specFile({ model: ANTHROPIC, rules: true }), tools: [] })],
      env: { ANTHROPIC_API_KEY: "test-key", ANTHROPIC_BASE_URL: server.baseUrl },
      log: () => undefined,
      timers: false,
    });
    try {
      assert.equal(
        keel.modelLabels.get("desk-router"),
        "anthropic/claude-sonnet-4-5-20250929 through the gateway",
      );
      server.push({ reply: { text: "shipping", usage: { input: 30, output: 1 } } });
      const before = server.requests.length;
      const started = await keel.fetch(
        new Request("http://127.0.0.1/v1/agents/desk-router/runs", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ input: "my parcel never arrived" }),
        }),
      );
      assert.equal(started.status, 202, await started.clone().text());
      const { id } = (await started.json()) as { id: string };
      let run: { status: string; answer: string | null } = { status: "queued", answer: null };
      for (let attempt = 0; attempt < 300 && !["completed", "failed"].includes(run.status); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        run = (await (await keel.fetch(new Request(`http://127.0.0.1/v1/runs/${id}`))).json()) as typeof run;
      }
      // The rules table would have said billing: the hosted model's answer is what routed the run.
      assert.equal(run.status, "completed");
      assert.equal(run.answer, "shipping desk");
      assert.equal(server.requests.length, before + 1);
      assert.match(JSON.stringify(server.requests.at(-1)?.body), /my parcel never arrived/);
      const ended = (await store.readEvents({ runId: id })).find((event) => event.type === "model-call-end");
      assert.equal(ended?.type === "model-call-end" && ended.payload.provider, "anthropic");
    } finally {
      await keel.close();
      await store.close();
    }
  });
});
