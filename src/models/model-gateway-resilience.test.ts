import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { KeelError } from "../errors/keel-error.ts";
import { createAnthropicModelProvider } from "./anthropic-model-provider.ts";
import type { ModelTarget } from "./call-with-failover.ts";
import { type LoopbackProvider, startLoopbackProvider } from "./loopback/loopback-provider-server.ts";
import { ModelCallError } from "./model-call-error.ts";
import { createModelGateway, type GatewayCall, type GatewayStreamPart } from "./model-gateway.ts";
import type { ModelPolicy, TargetRef } from "./model-route.ts";
import { createOpenAIModelProvider } from "./openai-model-provider.ts";
import { createPriceTable } from "./price-table.ts";
import type { ResilienceOptions } from "./target-policies.ts";

const PRIMARY: TargetRef = { provider: "anthropic", model: "claude-sonnet-4-5-20250929" };
const BACKUP: TargetRef = { provider: "openai", model: "gpt-5-mini-2025-08-07" };

let anthropic: LoopbackProvider;
let openai: LoopbackProvider;

before(async () => {
  anthropic = await startLoopbackProvider({ wire: "anthropic" });
  openai = await startLoopbackProvider({ wire: "openai" });
});
after(async () => {
  await anthropic.close();
  await openai.close();
});
beforeEach(() => {
  anthropic.requests.length = 0;
  openai.requests.length = 0;
});

function gatewayWith(resilience: Partial<ResilienceOptions> = {}) {
  return createModelGateway({
    priceTable: createPriceTable(),
    resilience: {
      initialDelayMs: 5,
      maxDelayMs: 20,
      attemptTimeoutMs: 2_000,
      halfOpenAfterMs: 60_000,
      ...resilience,
    },
    resolveTarget(ref): ModelTarget {
      const adapter =
        ref.provider === "anthropic"
          ? createAnthropicModelProvider({ model: ref.model, apiKey: "k", baseUrl: anthropic.baseUrl })
          : createOpenAIModelProvider({ model: ref.model, apiKey: "k", baseUrl: openai.baseUrl });
      return { adapter, keyId: `${ref.provider.toUpperCase()}_API_KEY` };
    },
  });
}

function policy(fallbacks: TargetRef[] = [BACKUP]): ModelPolicy {
  return { primary: PRIMARY, fallbacks, rules: [], promptCaching: true };
}

function call(overrides: Partial<GatewayCall> = {}): GatewayCall {
  return {
    request: {
      system: "You help.",
      messages: [{ role: "user", content: "hello" }],
      tools: [],
      params: { maxOutputTokens: 100 },
      signal: AbortSignal.timeout(20_000),
    },
    policy: policy(),
    agent: "tester",
    tenant: "acme",
    phase: "planning",
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<ModelCallError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ModelCallError, String(error));
    return error;
  }
  assert.fail("expected a failure");
}

async function drain(
  stream: AsyncIterable<GatewayStreamPart>,
  seen: GatewayStreamPart[] = [],
): Promise<GatewayStreamPart[]> {
  for await (const part of stream) seen.push(part);
  return seen;
}

describe("the gateway's retries", () => {
  test("waits out a 429's Retry-After, then succeeds on the same target", async () => {
    const gateway = gatewayWith();
    anthropic.push({ status: 429, error: "rate_limited", retryAfter: "0.3" });
    const started = performance.now();
    const first = call();
    const result = await gateway.generate(first, gateway.route(first));
    assert.ok(performance.now() - started >= 290, "waited at least the Retry-After");
    assert.equal(anthropic.requests.length, 2);
    assert.equal(openai.requests.length, 0);
    assert.deepEqual(
      result.attempts.map((attempt) => [attempt.outcome, attempt.errorClass]),
      [
        ["error", "rate_limited"],
        ["ok", undefined],
      ],
    );
  });

  for (const status of [500, 502, 503, 529]) {
    test(`retries HTTP ${status} with backoff and succeeds`, async () => {
      const gateway = gatewayWith();
      anthropic.push({ status, error: status === 529 ? "overloaded" : "server" });
      const result = await gateway.generate(call(), gateway.route(call()));
      assert.equal(result.provider, "anthropic");
      assert.equal(anthropic.requests.length, 2);
    });
  }

  test("does not retry a request the provider rejected as too long; the fallback for that class takes it", async () => {
    const gateway = gatewayWith();
    const longContext: TargetRef = {
      provider: "openai",
      model: "gpt-4.1-2025-04-14",
      on: ["context_too_long"],
    };
    anthropic.push({ status: 400, error: "context_too_long" });
    const routed = call({ policy: policy([BACKUP, longContext]) });
    const result = await gateway.generate(routed, gateway.route(routed));
    assert.equal(anthropic.requests.length, 1, "no retry of a user error");
    assert.equal(result.model, "gpt-4.1-2025-04-14", "the rate-limit fallback was skipped for this class");
  });

  test("fails over when Retry-After is longer than the gateway will wait", async () => {
    const gateway = gatewayWith({ maxRetryAfterMs: 1_000 });
    anthropic.push({ status: 429, error: "rate_limited", retryAfter: "120" });
    const started = performance.now();
    const result = await gateway.generate(call(), gateway.route(call()));
    assert.ok(performance.now() - started < 1_000);
    assert.equal(result.provider, "openai");
    assert.equal(anthropic.requests.length, 1);
  });

  test("fails over on a content refusal only to a fallback that takes refusals", async () => {
    const gateway = gatewayWith();
    anthropic.push({ status: 400, error: "refused" });
    const refusals: TargetRef = { ...BACKUP, on: ["content_refused"] };
    const routed = call({ policy: policy([refusals]) });
    assert.equal((await gateway.generate(routed, gateway.route(routed))).provider, "openai");
    anthropic.push({ status: 400, error: "refused" });
    const plain = call();
    const error = await failure(gateway.generate(plain, gateway.route(plain)));
    assert.equal(error.errorClass, "content_refused");
  });

  test("times out a hung provider, retries, then fails over: bounded, never a hang", async () => {
    const gateway = gatewayWith({ attemptTimeoutMs: 150, maxAttempts: 2 });
    anthropic.push({ hang: true }, { hang: true });
    const started = performance.now();
    const result = await gateway.generate(call(), gateway.route(call()));
    assert.equal(result.provider, "openai");
    assert.ok(performance.now() - started < 1_500);
    assert.deepEqual(
      result.attempts.map((attempt) => attempt.errorClass ?? attempt.outcome),
      ["timeout", "timeout", "ok"],
    );
  });

  test("ends with a clear error naming every target when all are down", async () => {
    const gateway = gatewayWith({ maxAttempts: 2 });
    anthropic.setDefault({ status: 503, error: "server" });
    openai.setDefault({ status: 503, error: "server" });
    try {
      const started = performance.now();
      const error = await failure(gateway.generate(call(), gateway.route(call())));
      assert.ok(performance.now() - started < 2_000);
      assert.equal(error.errorClass, "unavailable");
      assert.equal(error.code, "model_unavailable");
      assert.match(error.message, /every model target failed/);
      assert.match(error.message, /anthropic\/claude-sonnet-4-5-20250929/);
      assert.match(error.message, /openai\/gpt-5-mini-2025-08-07/);
      assert.equal(error.attempts.length, 4);
    } finally {
      anthropic.setDefault({ reply: { text: "Hello from the loopback server." } });
      openai.setDefault({ reply: { text: "Hello from the loopback server." } });
    }
  });
});

describe("the gateway and configuration errors", () => {
  /** A gateway whose primary is built by `primary` (the backup is the loopback OpenAI server, which works). */
  function gatewayBuilding(primary: (ref: TargetRef) => ModelTarget) {
    return createModelGateway({
      priceTable: createPriceTable(),
      resilience: { initialDelayMs: 5, maxDelayMs: 20, attemptTimeoutMs: 2_000, breakerThreshold: 2 },
      resolveTarget(ref): ModelTarget {
        if (ref.provider === "openai") {
          const adapter = createOpenAIModelProvider({
            model: ref.model,
            apiKey: "k",
            baseUrl: openai.baseUrl,
          });
          return { adapter, keyId: "OPENAI_API_KEY" };
        }
        return primary(ref);
      },
    });
  }

  test("an unknown model id (HTTP 404) fails at once: no retry, no failover, no open circuit", async () => {
    anthropic.setDefault({ status: 404, error: "invalid", message: "model: claude-nonexistent" });
    try {
      const gateway = gatewayWith({ breakerThreshold: 2 });
      for (let index = 0; index < 3; index++) {
        const error = await failure(gateway.generate(call(), gateway.route(call())));
        assert.equal(error.errorClass, "configuration");
        assert.equal(error.code, "model_misconfigured");
        assert.match(error.message, /no such model or endpoint \(HTTP 404\)/);
        assert.equal(error.attempts.length, 1);
      }
      assert.equal(anthropic.requests.length, 3, "one request per call");
      assert.equal(openai.requests.length, 0, "a fallback cannot fix a wrong model id");
      assert.equal(gateway.breakerState(PRIMARY), "closed");
    } finally {
      anthropic.setDefault({ reply: { text: "Hello from the loopback server." } });
    }
  });

  test("a base URL that cannot be fetched fails at once instead of being retried three times", async () => {
    const gateway = gatewayBuilding((ref) => ({
      adapter: createAnthropicModelProvider({ model: ref.model, apiKey: "k", baseUrl: "localhost:9/v1" }),
      keyId: "ANTHROPIC_API_KEY",
    }));
    const error = await failure(gateway.generate(call(), gateway.route(call())));
    assert.equal(error.errorClass, "configuration");
    assert.match(error.message, /URL cannot be used/);
    assert.deepEqual(
      error.attempts.map((attempt) => [attempt.provider, attempt.errorClass]),
      [["anthropic", "configuration"]],
    );
    assert.equal(openai.requests.length, 0);
  });

  test("an unknown provider or a missing key is a configuration error before any request, never 'unavailable'", async () => {
    for (const message of [
      'provider "nope" is not one Keel knows',
      "anthropic/x needs ANTHROPIC_API_KEY, which is not set",
    ]) {
      const gateway = gatewayBuilding(() => {
        throw new KeelError("unavailable", message);
      });
      for (const streamed of [false, true]) {
        const pending = streamed
          ? drain(gateway.stream(call(), gateway.route(call())))
          : gateway.generate(call(), gateway.route(call()));
        const error = await failure(pending);
        assert.equal(error.errorClass, "configuration");
        assert.equal(error.code, "model_misconfigured");
        assert.equal(error.status, 400);
        assert.equal(error.message, message);
      }
    }
    assert.equal(anthropic.requests.length + openai.requests.length, 0);
  });
});

describe("the gateway's circuit breakers", () => {
  test("open after at most 10 failing calls, send nothing to the open target, and let one half-open probe through", async () => {
    // Long enough that the 20 calls below all meet the open breaker on a loaded machine.
    const gateway = gatewayWith({ maxAttempts: 1, breakerThreshold: 5, halfOpenAfterMs: 1_500 });
    anthropic.setDefault({ status: 503, error: "server" });
    try {
      let failingCalls = 0;
      while (gateway.breakerState(PRIMARY) !== "open") {
        await gateway.generate(call(), gateway.route(call()));
        failingCalls += 1;
        assert.ok(failingCalls <= 10, "the breaker opened within 10 failing calls");
      }
      const sentBeforeOpen = anthropic.requests.length;
      for (let index = 0; index < 20; index += 1) {
        const result = await gateway.generate(call(), gateway.route(call()));
        assert.equal(result.provider, "openai");
        assert.equal(result.attempts[0]?.outcome, "skipped");
        assert.equal(result.attempts[0]?.errorClass, "circuit_open");
      }
      assert.equal(anthropic.requests.length, sentBeforeOpen, "0 requests reached the open target");

      await new Promise((resolve) => setTimeout(resolve, 1_550));
      anthropic.setDefault({ reply: { text: "recovered" } });
      const probes = await Promise.all(
        Array.from({ length: 5 }, () => gateway.generate(call(), gateway.route(call()))),
      );
      assert.equal(
        anthropic.requests.length,
        sentBeforeOpen + 1 + 4,
        "one probe first; the rest after it closed",
      );
      assert.ok(probes.every((result) => result.provider === "anthropic"));
      assert.equal(gateway.breakerState(PRIMARY), "closed");
    } finally {
      anthropic.setDefault({ reply: { text: "Hello from the loopback server." } });
    }
  });

  test("keep one breaker per provider, model and key", async () => {
    const gateway = gatewayWith({ maxAttempts: 1, breakerThreshold: 2 });
    anthropic.push({ status: 503, error: "server" }, { status: 503, error: "server" });
    await gateway.generate(call(), gateway.route(call()));
    await gateway.generate(call(), gateway.route(call()));
    assert.equal(gateway.breakerState(PRIMARY), "open");
    assert.equal(
      gateway.breakerState({ provider: "anthropic", model: "claude-haiku-4-5-20251001" }),
      "unused",
    );
    const other = call({
      policy: { ...policy(), primary: { provider: "anthropic", model: "claude-haiku-4-5-20251001" } },
    });
    assert.equal((await gateway.generate(other, gateway.route(other))).model, "claude-haiku-4-5-20251001");
  });
});

describe("the gateway's streams", () => {
  test("fail over before the first token", async () => {
    const gateway = gatewayWith({ maxAttempts: 1 });
    anthropic.push({ status: 503, error: "server" });
    const parts = await drain(gateway.stream(call(), gateway.route(call())));
    const result = parts.at(-1);
    assert.ok(result?.type === "result");
    assert.equal(result.result.provider, "openai");
    assert.ok(parts.some((part) => part.type === "text-delta"));
  });

  test("retry a stream cut before its first token", async () => {
    const gateway = gatewayWith();
    anthropic.push({ cut: { text: "never sent" }, afterFrames: 1 });
    const parts = await drain(gateway.stream(call(), gateway.route(call())));
    const result = parts.at(-1);
    assert.ok(result?.type === "result");
    assert.equal(result.result.provider, "anthropic");
    assert.equal(anthropic.requests.length, 2);
  });

  test("never retry or fail over after the first token has been streamed", async () => {
    const gateway = gatewayWith();
    anthropic.push({ cut: { text: "This reply is cut off half way through." }, afterFrames: 5 });
    const seen: GatewayStreamPart[] = [];
    const error = await failure(drain(gateway.stream(call(), gateway.route(call())), seen));
    assert.equal(error.afterFirstToken, true);
    assert.ok(seen.some((part) => part.type === "text-delta"));
    assert.equal(anthropic.requests.length, 1, "not retried");
    assert.equal(openai.requests.length, 0, "no failover");
  });

  test("price the streamed turn from its usage", async () => {
    const gateway = gatewayWith();
    anthropic.push({ reply: { text: "priced", usage: { input: 1_000, output: 100, cacheRead: 400 } } });
    const parts = await drain(gateway.stream(call(), gateway.route(call())));
    const result = parts.at(-1);
    assert.ok(result?.type === "result");
    const expected = (600 * 3 + 400 * 0.3 + 100 * 15) / 1e6;
    assert.ok(Math.abs(result.result.cost.usd - expected) < 1e-12);
    assert.equal(result.result.cost.priceTableVersion, "2026-11");
  });
});
