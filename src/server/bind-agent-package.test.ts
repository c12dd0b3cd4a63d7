import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { isKeelError } from "../errors/keel-error.ts";
import { type LoopbackProvider, startLoopbackProvider } from "../models/loopback/loopback-provider-server.ts";
import { isRoutedModelProvider } from "../models/model-gateway.ts";
import { loadAgentSpec } from "../spec/load-agent-spec.ts";
import { chooseModel, modelPolicyOf } from "./bind-agent-package.ts";

const RULES = `apiVersion: keel/v1\nkind: RulesTable\nrules:\n  - name: anything\n    when: { input: "." }\n    answer: "offline answer"\n`;

async function specWith(model: string, options: { rules?: boolean } = {}) {
  const dir = await mkdtemp(join(tmpdir(), "keel-bind-"));
  await writeFile(join(dir, "prompt.md"), "You help.\n");
  if (options.rules) await writeFile(join(dir, "rules.yaml"), RULES);
  const offline = options.rules ? "\n  offline: ./rules.yaml" : "";
  await writeFile(
    join(dir, "agent.yaml"),
    `apiVersion: keel/v1\nkind: Agent\nname: helper\nversion: 1.0.0\ndescription: Helps.\nowner: { team: qa }\nriskTier: 3\nprompt: ./prompt.md\nmodel:\n${model}${offline}\n`,
  );
  return await loadAgentSpec(join(dir, "agent.yaml"));
}

const ANTHROPIC = "  provider: anthropic\n  id: claude-sonnet-4-5-20250929";

describe("choosing an agent's model", () => {
  let server: LoopbackProvider;
  before(async () => {
    server = await startLoopbackProvider({ wire: "anthropic" });
  });
  after(async () => {
    await server.close();
  });

  test("uses the offline rules table, labelled, when the provider's key is not set", async () => {
    const choice = chooseModel(await specWith(ANTHROPIC, { rules: true }), {});
    assert.equal(choice.provider.offline, true);
    assert.equal(
      choice.label,
      "rules — offline stand-in for anthropic/claude-sonnet-4-5-20250929 (ANTHROPIC_API_KEY is not set)",
    );
  });

  test("stops with a message naming the variable when there is no key and no rules table", async () => {
    const loaded = await specWith(ANTHROPIC);
    assert.throws(
      () => chooseModel(loaded, {}),
      (error: unknown) =>
        isKeelError(error, "invalid_spec") &&
        /uses anthropic\/claude-sonnet-4-5-20250929, but ANTHROPIC_API_KEY is not set\. Set ANTHROPIC_API_KEY/.test(
          error.message,
        ),
    );
  });

  test("calls the real provider through the gateway when the key is set", async () => {
    server.push({ reply: { text: "from the provider", usage: { input: 10, output: 3 } } });
    const choice = chooseModel(await specWith(ANTHROPIC, { rules: true }), {
      ANTHROPIC_API_KEY: "sk-ant-test",
      ANTHROPIC_BASE_URL: server.baseUrl,
    });
    assert.equal(choice.provider.offline, false);
    assert.ok(isRoutedModelProvider(choice.provider));
    assert.equal(choice.label, "anthropic/claude-sonnet-4-5-20250929 through the gateway");
    const turn = await choice.provider.generate({
      system: "s",
      messages: [{ role: "user", content: "hi" }],
      tools: [],
      params: {},
      signal: AbortSignal.timeout(5_000),
    });
    assert.deepEqual(turn.decision, { kind: "answer", text: "from the provider" });
    assert.equal(server.requests.at(-1)?.headers["x-api-key"], "sk-ant-test");
  });

  test("names the variable a fallback needs when it is missing", async () => {
    const loaded = await specWith(
      `${ANTHROPIC}\n  fallbacks:\n    - { provider: openai, id: gpt-5-mini-2025-08-07, on: [rate_limited] }`,
    );
    assert.throws(
      () => chooseModel(loaded, { ANTHROPIC_API_KEY: "k" }),
      (error: unknown) => isKeelError(error) && /keys are not set: OPENAI_API_KEY/.test(error.message),
    );
  });

  test("reads fallbacks, routing, cascade, classifier and caches from the spec", async () => {
    const loaded = await specWith(
      [
        ANTHROPIC,
        "  fallbacks:",
        "    - { provider: local, id: llama3.1:8b, baseUrl: 'http://127.0.0.1:11434/v1', on: [unavailable] }",
        "  routing:",
        "    - { name: cheap-planning, when: { phase: planning }, use: { provider: anthropic, id: claude-haiku-4-5-20251001 } }",
        "  cache: { prompt: false, response: { ttl: 5m } }",
      ].join("\n"),
    );
    const policy = modelPolicyOf(loaded.spec);
    assert.deepEqual(policy.fallbacks, [
      {
        provider: "local",
        model: "llama3.1:8b",
        endpoint: { baseUrl: "http://127.0.0.1:11434/v1" },
        on: ["unavailable"],
      },
    ]);
    assert.deepEqual(policy.rules[0]?.when, { phase: ["planning"] });
    assert.equal(policy.responseCacheTtlMs, 300_000);
    assert.equal(policy.promptCaching, false);
  });
});
