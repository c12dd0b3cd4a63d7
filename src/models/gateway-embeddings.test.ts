import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Registry } from "prom-client";
import { isKeelError } from "../errors/index.ts";
import { createEmbeddingAdapter, type EmbeddingTarget } from "./embedding-target.ts";
import { type LoopbackEmbeddings, startLoopbackEmbeddings } from "./loopback/loopback-embeddings-server.ts";
import { ModelCallError } from "./model-call-error.ts";
import { createModelGateway } from "./model-gateway.ts";
import type { TargetRef } from "./model-route.ts";
import { createPriceTable } from "./price-table.ts";
import { createGatewayTextEmbedder } from "./text-embedder.ts";

/** A vector the loopback servers make from a text: its length and its count of the letter e, not normalised. */
const vectorOf = (text: string) => [text.length, [...text].filter((letter) => letter === "e").length, 0];

/** A gateway whose embedding targets are real adapters at the loopback servers, keyed by their base URL. */
function gatewayWith(registry: Registry, breakerThreshold = 5) {
  return createModelGateway({
    priceTable: createPriceTable(),
    metrics: registry,
    resilience: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2, breakerThreshold },
    resolveTarget: () => {
      throw new Error("no chat models in this test");
    },
    resolveEmbeddingTarget: (ref): EmbeddingTarget => ({
      adapter: createEmbeddingAdapter({
        provider: ref.provider,
        model: ref.model,
        apiKey: "sk-test",
        baseUrl: ref.endpoint!.baseUrl!,
      }),
      keyId: `test@${ref.endpoint!.baseUrl}`,
    }),
  });
}

const metricValue = async (registry: Registry, name: string, labels: Record<string, string>) => {
  const metric = (await registry.getMetricsAsJSON()).find((each) => each.name === name);
  const found = metric?.values.find((value) =>
    Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted),
  );
  return found?.value ?? 0;
};

describe("embeddings through the model gateway", () => {
  let down: LoopbackEmbeddings;
  let up: LoopbackEmbeddings;
  before(async () => {
    down = await startLoopbackEmbeddings({ vectorOf, failWith: () => 503 });
    up = await startLoopbackEmbeddings({ vectorOf });
  });
  after(async () => {
    await Promise.all([down.close(), up.close()]);
  });

  const target = (server: LoopbackEmbeddings, model = "text-embedding-3-small"): TargetRef => ({
    provider: "openai",
    model,
    endpoint: { baseUrl: `${server.url}/v1` },
  });

  test("a failing first target is retried, then the same model on a second server serves the texts", async () => {
    const registry = new Registry();
    const gateway = gatewayWith(registry);
    const before = down.requests.length;
    const result = await gateway.embed({
      texts: ["eee", "abcd"],
      targets: [target(down), target(up)],
      caller: "support",
    });
    assert.deepEqual(result.vectors, [
      [3, 3, 0],
      [4, 0, 0],
    ]);
    assert.equal(down.requests.length - before, 2, "the first target was tried twice (maxAttempts)");
    assert.deepEqual(up.requests.at(-1)!.body.input, ["eee", "abcd"]);
    assert.deepEqual(
      result.attempts.map((attempt) => [attempt.outcome, attempt.errorClass ?? null]),
      [
        ["error", "unavailable"],
        ["error", "unavailable"],
        ["ok", null],
      ],
    );
    assert.equal(await metricValue(registry, "keel_gateway_embedding_calls_total", { outcome: "ok" }), 1);
  });

  test("usage is the provider's billed tokens, priced from the table and counted in the metrics by caller", async () => {
    const registry = new Registry();
    const gateway = gatewayWith(registry);
    const result = await gateway.embed({ texts: ["one", "two"], targets: [target(up)], caller: "support" });
    // The loopback server bills 3 tokens a text, as OpenAI's usage.prompt_tokens.
    assert.deepEqual(result.usage, { inputTokens: 6, outputTokens: 0 });
    assert.equal(result.usageEstimated, false);
    assert.deepEqual([result.provider, result.model], ["openai", "text-embedding-3-small"]);
    assert.equal(result.cost.source, "table");
    assert.ok(Math.abs(result.cost.usd - (6 * 0.02) / 1_000_000) < 1e-15, `${result.cost.usd}`);
    assert.equal(
      await metricValue(registry, "keel_gateway_embedding_tokens_total", { caller: "support" }),
      6,
    );
    assert.equal(await metricValue(registry, "keel_gateway_embedding_texts_total", { caller: "support" }), 2);
    assert.ok(
      Math.abs(
        (await metricValue(registry, "keel_gateway_embedding_cost_usd_total", { caller: "support" })) -
          result.cost.usd,
      ) < 1e-15,
    );
  });

  test("Gemini, which reports no usage, is counted by an estimate that says it is one", async () => {
    const gateway = gatewayWith(new Registry());
    const result = await gateway.embed({
      texts: ["abcdef", "ghi"],
      targets: [
        { provider: "google", model: "gemini-embedding-001", endpoint: { baseUrl: `${up.url}/v1beta` } },
      ],
      caller: "kb",
    });
    assert.equal(up.requests.at(-1)!.path, "/v1beta/models/gemini-embedding-001:batchEmbedContents");
    assert.deepEqual([result.usage.inputTokens, result.usageEstimated], [3, true]);
    assert.ok(result.cost.usd > 0);
  });

  test("a target that keeps failing opens its breaker, and the next call skips it without asking it", async () => {
    const gateway = gatewayWith(new Registry(), 2);
    await gateway.embed({ texts: ["a"], targets: [target(down), target(up)], caller: "support" });
    const before = down.requests.length;
    const result = await gateway.embed({
      texts: ["b"],
      targets: [target(down), target(up)],
      caller: "support",
    });
    assert.equal(down.requests.length, before, "the open circuit kept the call off the failing server");
    assert.equal(result.attempts[0]?.errorClass, "circuit_open");
  });

  test("with every target failing the error is typed and carries each attempt; a failure is counted", async () => {
    const registry = new Registry();
    const gateway = gatewayWith(registry);
    await assert.rejects(
      gateway.embed({ texts: ["x"], targets: [target(down)], caller: "support" }),
      (error: unknown) =>
        error instanceof ModelCallError &&
        isKeelError(error, "model_unavailable") &&
        error.errorClass === "unavailable" &&
        error.attempts?.length === 2,
    );
    assert.equal(await metricValue(registry, "keel_gateway_embedding_calls_total", { outcome: "error" }), 1);
  });

  test("a fallback that is another model is refused: its vectors could not be compared", async () => {
    const gateway = gatewayWith(new Registry());
    await assert.rejects(
      gateway.embed({
        texts: ["x"],
        targets: [target(up), target(up, "text-embedding-3-large")],
        caller: "support",
      }),
      (error: unknown) =>
        isKeelError(error, "model_misconfigured") && /same model/.test((error as Error).message),
    );
  });

  test("the gateway's text embedder normalises, batches and keeps the first target's name for stored vectors", async () => {
    const embedder = createGatewayTextEmbedder({
      gateway: gatewayWith(new Registry()),
      targets: [target(down), target(up)],
      caller: "support",
    });
    assert.equal(embedder.model, "openai/text-embedding-3-small");
    assert.match(embedder.label, /through the gateway, fallbacks openai\/text-embedding-3-small/);
    const [vector] = await embedder.embed(["eee"]);
    assert.ok(Math.abs(vector![0]! - Math.SQRT1_2) < 1e-6 && Math.abs(vector![1]! - Math.SQRT1_2) < 1e-6);
  });
});
