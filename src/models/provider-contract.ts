import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import golden from "./__fixtures__/golden-usages.json" with { type: "json" };
import { type LoopbackProvider, startLoopbackProvider } from "./loopback/loopback-provider-server.ts";
import { ModelCallError } from "./model-call-error.ts";
import type { GenerateOptions, ModelProvider, ModelStreamPart } from "./model-provider.ts";
import { createPriceTable, priceCall } from "./price-table.ts";

/** One adapter under the contract: which wire its loopback server speaks and how to build it against a URL. */
export type ProviderSubject = {
  name: string;
  wire: "anthropic" | "openai" | "google";
  /** The wire name used to pick golden usages (`openai-compatible` shares OpenAI's wire). */
  golden: string;
  selfHosted?: boolean;
  create(options: { baseUrl: string; model: string }): ModelProvider;
  /** What the provider puts in its request to cache the prompt, checked against the recorded body. */
  checkPromptCaching?(body: Record<string, unknown>): void;
};

const tools = [
  {
    name: "get_order",
    description: "Look up an order by number.",
    inputSchema: { type: "object", properties: { order: { type: "string" } }, required: ["order"] },
  },
];

function request(overrides: Partial<GenerateOptions> = {}): GenerateOptions {
  return {
    system: "You are a support agent.",
    messages: [{ role: "user", content: "Where is order 1042?" }],
    tools,
    params: { maxOutputTokens: 200, temperature: 0 },
    signal: AbortSignal.timeout(5_000),
    promptCacheKey: "agent:support-triage",
    ...overrides,
  };
}

async function collect(stream: AsyncIterable<ModelStreamPart>): Promise<ModelStreamPart[]> {
  const parts: ModelStreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

async function failure(promise: Promise<unknown>): Promise<ModelCallError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ModelCallError, `expected a ModelCallError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

/** The provider contract: every adapter, against a loopback server speaking its vendor's wire protocol. */
export function providerContract(subject: ProviderSubject): void {
  describe(`the ${subject.name} adapter`, () => {
    let server: LoopbackProvider;
    let provider: ModelProvider;
    const model = "test-model-1";
    before(async () => {
      server = await startLoopbackProvider({ wire: subject.wire });
      provider = subject.create({ baseUrl: server.baseUrl, model });
    });
    after(async () => {
      await server.close();
    });
    beforeEach(() => {
      server.requests.length = 0;
    });

    test("answers with text and normalised usage", async () => {
      server.push({ reply: { text: "It shipped yesterday.", usage: { input: 120, output: 9 } } });
      const turn = await provider.generate(request());
      assert.deepEqual(turn.decision, { kind: "answer", text: "It shipped yesterday." });
      assert.equal(turn.usage.inputTokens, 120);
      assert.equal(turn.usage.outputTokens, 9);
      assert.equal(turn.finishReason, "stop");
      assert.equal(provider.offline, false);
    });

    test("proposes tool calls with parsed arguments", async () => {
      server.push({
        reply: {
          toolCalls: [{ id: "call_1", name: "get_order", arguments: { order: "1042" } }],
          usage: { input: 50, output: 12 },
        },
      });
      const turn = await provider.generate(request());
      assert.equal(turn.decision.kind, "tool-calls");
      const calls = turn.decision.kind === "tool-calls" ? turn.decision.calls : [];
      assert.deepEqual(
        calls.map(({ tool, arguments: args }) => ({ tool, arguments: args })),
        [{ tool: "get_order", arguments: { order: "1042" } }],
      );
      // Gemini has no call ids on the wire; the SDK makes one up. Others echo the provider's.
      assert.ok(calls[0]?.callId && (subject.wire === "google" || calls[0].callId === "call_1"));
      assert.equal(turn.finishReason, "tool-calls");
    });

    test("sends the conversation with tool results back in the vendor's shape", async () => {
      server.push({ reply: { text: "Shipped." } });
      await provider.generate(
        request({
          messages: [
            { role: "user", content: "Where is order 1042?" },
            {
              role: "assistant",
              content: "",
              toolCalls: [{ callId: "call_1", tool: "get_order", arguments: { order: "1042" } }],
            },
            {
              role: "tool",
              callId: "call_1",
              tool: "get_order",
              content: { status: "shipped" },
              isError: false,
            },
          ],
        }),
      );
      const sent = JSON.stringify(server.requests[0]?.body);
      assert.match(sent, /call_1|get_order/);
      assert.match(sent, /shipped/);
    });

    test("streams text deltas, then the finished turn with usage", async () => {
      server.push({
        reply: { text: "Your order shipped yesterday by courier.", usage: { input: 80, output: 11 } },
      });
      const parts = await collect(provider.stream!(request()));
      const text = parts.flatMap((part) => (part.type === "text-delta" ? [part.text] : [])).join("");
      assert.equal(text, "Your order shipped yesterday by courier.");
      assert.ok(parts.filter((part) => part.type === "text-delta").length > 1, "several deltas");
      const finish = parts.at(-1);
      assert.ok(finish?.type === "finish");
      assert.equal(finish.turn.usage.inputTokens, 80);
      assert.equal(finish.turn.usage.outputTokens, 11);
    });

    test("streams tool calls", async () => {
      server.push({
        reply: { toolCalls: [{ id: "call_9", name: "get_order", arguments: { order: "77" } }] },
      });
      const parts = await collect(provider.stream!(request()));
      const calls = parts.flatMap((part) => (part.type === "tool-call" ? [part.call] : []));
      assert.deepEqual(
        calls.map(({ tool, arguments: args }) => ({ tool, arguments: args })),
        [{ tool: "get_order", arguments: { order: "77" } }],
      );
      const finish = parts.at(-1);
      assert.ok(finish?.type === "finish" && finish.turn.decision.kind === "tool-calls");
    });

    test("reports 429 as rate_limited with the Retry-After it sent", async () => {
      server.push({ status: 429, error: "rate_limited", retryAfter: "2" });
      const error = await failure(provider.generate(request()));
      assert.equal(error.errorClass, "rate_limited");
      assert.equal(error.retryAfterMs, 2_000);
      assert.equal(error.code, "model_rate_limited");
    });

    for (const status of [500, 502, 503, 529]) {
      test(`reports HTTP ${status} as unavailable`, async () => {
        server.push({ status, error: status === 529 ? "overloaded" : "server" });
        const error = await failure(provider.generate(request()));
        assert.equal(error.errorClass, "unavailable");
      });
    }

    test("reports a prompt past the context window as context_too_long", async () => {
      server.push({ status: 400, error: "context_too_long" });
      assert.equal((await failure(provider.generate(request()))).errorClass, "context_too_long");
    });

    test("reports a refusal by the provider as content_refused", async () => {
      server.push({ status: 400, error: "refused" });
      assert.equal((await failure(provider.generate(request()))).errorClass, "content_refused");
    });

    test("reports a connection reset as unavailable", async () => {
      server.push({ reset: true });
      assert.equal((await failure(provider.generate(request()))).errorClass, "unavailable");
    });

    test("reports malformed JSON as malformed_response", async () => {
      server.push({ malformed: true });
      assert.equal((await failure(provider.generate(request()))).errorClass, "malformed_response");
    });

    test("reports a stream cut mid-way as a failure after its first text", async () => {
      server.push({ cut: { text: "This answer will never be finished, sadly." }, afterFrames: 4 });
      const seen: ModelStreamPart[] = [];
      const error = await failure(
        (async () => {
          for await (const part of provider.stream!(request())) seen.push(part);
        })(),
      );
      assert.equal(error.errorClass, "unavailable");
      assert.ok(
        seen.some((part) => part.type === "text-delta"),
        "some text arrived before the cut",
      );
      assert.ok(!seen.some((part) => part.type === "finish"));
    });

    test("stops waiting when the caller's signal aborts (a hung provider)", async () => {
      server.push({ hang: true });
      const started = performance.now();
      const error = await failure(provider.generate(request({ signal: AbortSignal.timeout(150) })));
      assert.equal(error.errorClass, "cancelled");
      assert.ok(performance.now() - started < 2_000);
    });

    test("asks the provider to cache the stable prompt prefix", async (context) => {
      if (!subject.checkPromptCaching) {
        context.skip("this provider caches implicitly");
        return;
      }
      server.push({ reply: { text: "ok" } });
      await provider.generate(request());
      subject.checkPromptCaching(server.requests[0]!.body);
    });

    const table = createPriceTable();
    for (const entry of golden.cases.filter((candidate) => candidate.wire === subject.golden)) {
      test(`prices "${entry.name}" within 0.1% of the reference`, async () => {
        const priced = subject.create({ baseUrl: server.baseUrl, model: entry.model });
        server.push({ reply: { text: "ok", rawUsage: entry.raw } });
        const turn = await priced.generate(request());
        assert.equal(turn.usage.inputTokens, entry.tokens.input);
        assert.equal(turn.usage.outputTokens, entry.tokens.output);
        assert.equal(turn.usage.cacheReadTokens ?? 0, entry.tokens.cacheRead);
        assert.equal(turn.usage.cacheWriteTokens ?? 0, entry.tokens.cacheWrite);
        assert.equal(turn.usage.reasoningTokens ?? 0, entry.tokens.reasoning);
        const cost = priceCall({
          table,
          provider: priced.provider,
          model: entry.model,
          usage: turn.usage,
          ...(subject.selfHosted ? { selfHosted: true } : {}),
        });
        if (entry.referenceUsd === 0) {
          assert.equal(cost.usd, 0);
          assert.equal(cost.source, "self-hosted");
        } else {
          assert.ok(
            Math.abs(cost.usd - entry.referenceUsd) <= entry.referenceUsd * 0.001,
            `${cost.usd} vs reference ${entry.referenceUsd}`,
          );
        }
        assert.equal(cost.priceTableVersion, table.version);
      });
    }
  });
}
