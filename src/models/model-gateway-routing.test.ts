import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Registry } from "prom-client";
import type { ModelTarget } from "./call-with-failover.ts";
import { createModelGateway, type GatewayCall } from "./model-gateway.ts";
import type { GenerateOptions, ModelProvider, ModelTurn } from "./model-provider.ts";
import { classifierPolicy, type ModelPolicy, routeModelCall } from "./model-route.ts";
import { createPriceTable } from "./price-table.ts";
import { createResponseCache } from "./response-cache.ts";
import { trainTextClassifier } from "./text-classifier.ts";

const HAIKU = { provider: "anthropic", model: "claude-haiku-4-5-20251001" };
const SONNET = { provider: "anthropic", model: "claude-sonnet-4-5-20250929" };

/** A fake adapter per model (routing is tested here; the wire is tested by the provider contract). */
function fakeGateway(answers: Record<string, (request: GenerateOptions) => ModelTurn>) {
  const calls: string[] = [];
  const metrics = new Registry();
  const gateway = createModelGateway({
    metrics,
    priceTable: createPriceTable(),
    responseCache: createResponseCache(),
    resolveTarget(ref): ModelTarget {
      const adapter: ModelProvider = {
        provider: ref.provider,
        model: ref.model,
        offline: false,
        async generate(request) {
          calls.push(ref.model);
          return answers[ref.model]!(request);
        },
      };
      return { adapter, keyId: "test" };
    },
  });
  return { gateway, calls, metrics };
}

const answer = (text: string): ModelTurn => ({
  decision: { kind: "answer", text },
  usage: { inputTokens: 100, outputTokens: 10 },
  finishReason: "stop",
});

function call(policy: ModelPolicy, overrides: Partial<GatewayCall> = {}): GatewayCall {
  return {
    request: {
      system: "You help.",
      messages: [{ role: "user", content: "where is my order 1042" }],
      tools: [],
      params: {},
      signal: AbortSignal.timeout(5_000),
    },
    policy,
    agent: "triage",
    tenant: "acme",
    phase: "planning",
    ...overrides,
  };
}

const base: ModelPolicy = { primary: SONNET, fallbacks: [], rules: [], promptCaching: true };
const facts = { agent: "triage", phase: "execution" as const, inputTokens: 500, tags: [], text: "" };

describe("routing", () => {
  test("takes the first matching rule by phase, input size and tags, and says why", () => {
    const policy: ModelPolicy = {
      ...base,
      rules: [
        { name: "planning-small", when: { phase: ["planning"] }, use: HAIKU },
        {
          name: "huge",
          when: { minInputTokens: 100_000 },
          use: { provider: "google", model: "gemini-2.5-pro" },
        },
        {
          name: "vip",
          when: { tags: ["vip"] },
          use: { provider: "anthropic", model: "claude-opus-4-5-20251101" },
        },
      ],
    };
    const planning = routeModelCall(policy, { ...facts, phase: "planning" });
    assert.equal(planning.tiers[0]?.[0]?.model, HAIKU.model);
    assert.match(planning.reason, /routing rule "planning-small" matched \(phase planning/);
    assert.equal(routeModelCall(policy, { ...facts, inputTokens: 150_000 }).rule, "huge");
    assert.equal(routeModelCall(policy, { ...facts, tags: ["vip"] }).rule, "vip");
    assert.equal(routeModelCall(policy, facts).reason, "default model");
  });

  test("keeps the spec's fallbacks behind a routed model", () => {
    const fallback = { provider: "openai", model: "gpt-5-mini-2025-08-07" };
    const policy: ModelPolicy = {
      ...base,
      fallbacks: [fallback],
      rules: [{ name: "p", when: { phase: ["planning"] }, use: HAIKU }],
    };
    assert.deepEqual(routeModelCall(policy, { ...facts, phase: "planning" }).tiers, [[HAIKU, fallback]]);
  });

  test("routes by a classifier trained on labelled examples, and falls through when unsure", () => {
    const policy: ModelPolicy = {
      ...base,
      classifier: classifierPolicy({
        examples: [
          { text: "where is my order", label: "simple" },
          { text: "track my parcel order status", label: "simple" },
          { text: "has my order shipped yet", label: "simple" },
          { text: "refund a damaged item and compensate me for the delay", label: "complex" },
          { text: "dispute a charge and escalate to a manager about the refund", label: "complex" },
          { text: "my refund was wrong and I want compensation", label: "complex" },
        ],
        routes: { simple: HAIKU },
      }),
    };
    const simple = routeModelCall(policy, { ...facts, text: "where is my order 1042?" });
    assert.equal(simple.tiers[0]?.[0]?.model, HAIKU.model);
    assert.match(simple.reason, /classifier labelled the input "simple" \(confidence (0\.\d\d|1\.00)\)/);
    const complex = routeModelCall(policy, {
      ...facts,
      text: "I want a refund and compensation for the damage",
    });
    assert.equal(complex.tiers[0]?.[0]?.model, SONNET.model, "complex has no route: the default applies");
  });

  test("trains a classifier that separates the examples it was given", () => {
    const classifier = trainTextClassifier([
      { text: "hello there", label: "greeting" },
      { text: "hi good morning", label: "greeting" },
      { text: "cancel my subscription now", label: "cancel" },
      { text: "please cancel the order", label: "cancel" },
    ]);
    assert.equal(classifier.classify("good morning to you").label, "greeting");
    assert.equal(classifier.classify("I want to cancel").label, "cancel");
  });
});

describe("the cascade", () => {
  const cascade = (lowConfidence: RegExp | null = /not sure/i): ModelPolicy => ({
    ...base,
    cascade: { tiers: [HAIKU, SONNET], escalateOn: { invalidOutput: true, lowConfidence, truncated: true } },
  });

  test("keeps the small model's answer when it is good", async () => {
    const { gateway, calls } = fakeGateway({ [HAIKU.model]: () => answer("It shipped.") });
    const routed = call(cascade());
    const result = await gateway.generate(routed, gateway.route(routed));
    assert.deepEqual(calls, [HAIKU.model]);
    assert.equal(result.model, HAIKU.model);
    assert.deepEqual(result.escalations, []);
  });

  test("escalates when the small model says it is not sure, summing usage and cost", async () => {
    const { gateway, calls } = fakeGateway({
      [HAIKU.model]: () => answer("I'm not sure where it is."),
      [SONNET.model]: () => answer("It is at the depot."),
    });
    const routed = call(cascade());
    const result = await gateway.generate(routed, gateway.route(routed));
    assert.deepEqual(calls, [HAIKU.model, SONNET.model]);
    assert.equal(result.model, SONNET.model);
    assert.deepEqual(result.escalations, [{ ...HAIKU, reason: "the model reported low confidence" }]);
    assert.equal(result.turn.usage.inputTokens, 200);
    const expected = (100 * 1 + 10 * 5 + 100 * 3 + 10 * 15) / 1e6;
    assert.ok(Math.abs(result.cost.usd - expected) < 1e-12);
  });

  test("escalates when the small model's tool call fails validation", async () => {
    const { gateway } = fakeGateway({
      [HAIKU.model]: () => ({
        decision: {
          kind: "tool-calls",
          calls: [{ callId: "c", tool: "get_order", arguments: { order: 42 } }],
        },
        usage: { inputTokens: 1, outputTokens: 1 },
      }),
      [SONNET.model]: () => answer("ok"),
    });
    const routed = call(cascade(null), { validate: () => "arguments for get_order do not match its schema" });
    const result = await gateway.generate(routed, gateway.route(routed));
    assert.equal(
      result.escalations[0]?.reason,
      "the output failed validation: arguments for get_order do not match its schema",
    );
  });
});

describe("the exact response cache", () => {
  const cached: ModelPolicy = { ...base, responseCacheTtlMs: 60_000 };

  test("answers a repeated question from the cache, at no cost", async () => {
    const { gateway, calls, metrics } = fakeGateway({ [SONNET.model]: () => answer("Shipped.") });
    const first = await gateway.generate(call(cached), gateway.route(call(cached)));
    const second = await gateway.generate(call(cached), gateway.route(call(cached)));
    assert.equal(calls.length, 1);
    assert.equal(first.responseCache, "miss");
    assert.equal(second.responseCache, "hit");
    assert.deepEqual(second.cost, { usd: 0, priceTableVersion: "2026-11", source: "response-cache" });
    assert.match(
      await metrics.metrics(),
      /keel_gateway_calls_total\{agent="[^"]*",outcome="ok",response_cache="hit"\} 1\n/,
    );
  });

  test("never shares an answer across tenants", async () => {
    const { gateway, calls } = fakeGateway({ [SONNET.model]: () => answer("Shipped.") });
    await gateway.generate(call(cached), gateway.route(call(cached)));
    const other = call(cached, { tenant: "globex" });
    assert.equal((await gateway.generate(other, gateway.route(other))).responseCache, "miss");
    assert.equal(calls.length, 2);
  });

  test("never stores a turn that calls a side-effecting tool", async () => {
    const { gateway, calls } = fakeGateway({
      [SONNET.model]: () => ({
        decision: {
          kind: "tool-calls",
          calls: [{ callId: "c", tool: "issue_refund", arguments: { amount: 5 } }],
        },
        usage: { inputTokens: 1, outputTokens: 1 },
      }),
    });
    const tools = [{ name: "issue_refund", description: "Refund.", inputSchema: {}, sideEffect: true }];
    const refund = call(cached, { request: { ...call(cached).request, tools } });
    await gateway.generate(refund, gateway.route(refund));
    await gateway.generate(refund, gateway.route(refund));
    assert.equal(calls.length, 2, "both turns went to the model");
  });
});

describe("prompt caching", () => {
  test("groups a tenant's agent under one prompt cache key, unless turned off", async () => {
    const seen: (string | undefined)[] = [];
    const caching: (boolean | undefined)[] = [];
    const { gateway } = fakeGateway({
      [SONNET.model]: (request) => {
        seen.push(request.promptCacheKey);
        caching.push(request.promptCaching);
        return answer("ok");
      },
    });
    await gateway.generate(call(base), gateway.route(call(base)));
    const off = call({ ...base, promptCaching: false });
    await gateway.generate(off, gateway.route(off));
    assert.deepEqual(seen, ["keel:acme:triage", undefined]);
    assert.deepEqual(caching, [undefined, false]);
  });
});
