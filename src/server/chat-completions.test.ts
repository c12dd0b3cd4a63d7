import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import OpenAI from "openai";
import { Registry } from "prom-client";
import { createSqlBudgetLedger } from "../governance/budget-ledger-sql.ts";
import { type LoopbackProvider, startLoopbackProvider } from "../models/loopback/loopback-provider-server.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { createEnvModelGateway } from "./bind-agent-package.ts";
import { type ChatCompletionsRoute, createChatCompletionsRoute } from "./chat-completions.ts";

const SONNET = "anthropic/claude-sonnet-4-5-20250929";

describe("the governed chat completions endpoint, through the official openai client", () => {
  let store: Store;
  let anthropic: LoopbackProvider;
  let openaiUpstream: LoopbackProvider;
  let route: ChatCompletionsRoute;
  let server: ServerType;
  let client: OpenAI;
  let baseURL: string;
  const metrics = new Registry();

  before(async () => {
    store = await openStore({});
    anthropic = await startLoopbackProvider({ wire: "anthropic" });
    openaiUpstream = await startLoopbackProvider({ wire: "openai" });
    const gateway = createEnvModelGateway({
      metrics,
      env: {
        ANTHROPIC_API_KEY: "sk-ant",
        ANTHROPIC_BASE_URL: anthropic.baseUrl,
        OPENAI_API_KEY: "sk-oai",
        OPENAI_BASE_URL: openaiUpstream.baseUrl,
      },
    });
    route = createChatCompletionsRoute({
      gateway,
      ledger: createSqlBudgetLedger(store.sql),
      keys: [
        { id: "app", secret: "keel-test-key", tenant: "acme" },
        { id: "capped", secret: "keel-capped-key", tenant: "acme", budgets: { perDay: { usd: 0.01 } } },
      ],
      models: {
        resilient: {
          primary: { provider: "anthropic", model: "claude-sonnet-4-5-20250929" },
          fallbacks: [{ provider: "openai", model: "gpt-5-mini-2025-08-07" }],
          rules: [],
          promptCaching: true,
        },
      },
      log: () => undefined,
    });
    server = await new Promise<ServerType>((resolve) => {
      const created = serve({ fetch: route.app.fetch, hostname: "127.0.0.1", port: 0 }, () =>
        resolve(created),
      );
    });
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    client = new OpenAI({ apiKey: "keel-test-key", baseURL, maxRetries: 0 });
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await route.close();
    await anthropic.close();
    await openaiUpstream.close();
    await store.close();
  });
  beforeEach(() => {
    anthropic.requests.length = 0;
    openaiUpstream.requests.length = 0;
  });

  test("answers a completion and records its tokens and cost", async () => {
    anthropic.push({
      reply: { text: "Hello, Dana.", usage: { input: 2_000, output: 12, cacheRead: 1_500 } },
    });
    const completion = await client.chat.completions.create({
      model: SONNET,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Say hello to Dana." },
      ],
    });
    assert.equal(completion.choices[0]?.message.content, "Hello, Dana.");
    assert.equal(completion.choices[0]?.finish_reason, "stop");
    assert.deepEqual(completion.usage?.prompt_tokens_details, { cached_tokens: 1_500 });
    assert.equal(completion.usage?.prompt_tokens, 2_000);
    const sent = anthropic.requests[0]!.body as { system: { text: string }[] };
    assert.equal(sent.system[0]?.text, "Be brief.");
    await route.close();
    const { rows } = await store.sql.query<{ tenant: string; cost: number; version: string; origin: string }>(
      "SELECT tenant, cost_nano_usd::float8 / 1e9 AS cost, price_table_version AS version, origin FROM keel_model_calls WHERE call_id = $1",
      [completion.id],
    );
    const expected = (500 * 3 + 1_500 * 0.3 + 12 * 15) / 1e6;
    assert.equal(rows[0]?.tenant, "acme");
    assert.equal(rows[0]?.origin, "endpoint");
    assert.equal(rows[0]?.version, "2026-11");
    assert.ok(Math.abs((rows[0]?.cost ?? 0) - expected) < 1e-9);
  });

  test("streams a completion with a final usage chunk", async () => {
    anthropic.push({
      reply: { text: "Streaming works across several chunks.", usage: { input: 30, output: 9 } },
    });
    const stream = await client.chat.completions.create({
      model: SONNET,
      messages: [{ role: "user", content: "stream please" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(text, "Streaming works across several chunks.");
    assert.equal(finish, "stop");
    assert.equal(usage?.completion_tokens, 9);
  });

  test("records a stream cut after its first token as an error with the estimated tokens and cost of what was sent", async () => {
    anthropic.push({ cut: { text: "This streamed answer is cut off half way through." }, afterFrames: 5 });
    const stream = await client.chat.completions.create({
      model: SONNET,
      messages: [{ role: "user", content: "stream and break" }],
      stream: true,
    });
    let id = "";
    let text = "";
    await assert.rejects(async () => {
      for await (const chunk of stream) {
        id = chunk.id;
        text += chunk.choices[0]?.delta.content ?? "";
      }
    });
    assert.ok(text.length > 0, "some text reached the client before the cut");
    await route.close();
    const { rows } = await store.sql.query<{ outcome: string; output: number; input: number; cost: number }>(
      "SELECT outcome, output_tokens AS output, input_tokens AS input, cost_nano_usd::float8 / 1e9 AS cost FROM keel_model_calls WHERE call_id = $1",
      [id],
    );
    assert.equal(rows[0]?.outcome, "error");
    assert.equal(rows[0]?.output, Math.ceil(text.length / 3));
    assert.ok((rows[0]?.input ?? 0) > 0);
    assert.ok((rows[0]?.cost ?? 0) > 0, "what was sent is paid for");
    assert.equal(anthropic.requests.length, 1, "not retried after the first token");
  });

  test("passes tools through and returns the model's tool calls", async () => {
    anthropic.push({
      reply: { toolCalls: [{ id: "toolu_1", name: "get_weather", arguments: { city: "Oslo" } }] },
    });
    const completion = await client.chat.completions.create({
      model: SONNET,
      messages: [{ role: "user", content: "Weather in Oslo?" }],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "Weather now",
            parameters: { type: "object", properties: { city: { type: "string" } } },
          },
        },
      ],
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    assert.equal(completion.choices[0]?.finish_reason, "tool_calls");
    assert.ok(call?.type === "function");
    assert.equal(call.function.name, "get_weather");
    assert.deepEqual(JSON.parse(call.function.arguments), { city: "Oslo" });
  });

  test("rejects an unknown key as the openai client expects", async () => {
    const stranger = new OpenAI({ apiKey: "wrong", baseURL, maxRetries: 0 });
    await assert.rejects(
      stranger.chat.completions.create({ model: SONNET, messages: [{ role: "user", content: "hi" }] }),
      (error: unknown) => error instanceof OpenAI.AuthenticationError && error.status === 401,
    );
  });

  test("fails over to the fallback before the first streamed token", async () => {
    anthropic.push(
      { status: 529, error: "overloaded" },
      { status: 529, error: "overloaded" },
      { status: 529, error: "overloaded" },
    );
    const stream = await client.chat.completions.create({
      model: "resilient",
      messages: [{ role: "user", content: "hello" }],
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    assert.equal(text, "Hello from the loopback server.");
    assert.equal(openaiUpstream.requests.length, 1);
  });

  test("answers 503 with a clear message when every target is down", async () => {
    anthropic.setDefault({ status: 503, error: "server" });
    openaiUpstream.setDefault({ status: 503, error: "server" });
    try {
      await assert.rejects(
        client.chat.completions.create({
          model: "resilient",
          messages: [{ role: "user", content: "hello" }],
        }),
        (error: unknown) =>
          error instanceof OpenAI.APIError &&
          error.status === 503 &&
          /every model target failed/.test(error.message),
      );
    } finally {
      anthropic.setDefault({ reply: { text: "Hello from the loopback server." } });
      openaiUpstream.setDefault({ reply: { text: "Hello from the loopback server." } });
    }
  });

  test("answers 400 model_misconfigured, which clients do not retry, for an unknown provider, a key not set or a model id the provider does not know", async () => {
    const retrying = new OpenAI({ apiKey: "keel-test-key", baseURL, maxRetries: 2 });
    anthropic.setDefault({ status: 404, error: "invalid", message: "model: claude-nonexistent" });
    try {
      for (const [model, said] of [
        ["nope/some-model", /provider "nope" is not one Keel knows/],
        ["google/gemini-2.5-flash", /needs GOOGLE_GENERATIVE_AI_API_KEY, which is not set/],
        ["anthropic/claude-nonexistent", /no such model or endpoint \(HTTP 404\)/],
      ] as const) {
        await assert.rejects(
          retrying.chat.completions.create({ model, messages: [{ role: "user", content: "hello" }] }),
          (error: unknown) =>
            error instanceof OpenAI.APIError &&
            error.status === 400 &&
            error.code === "model_misconfigured" &&
            said.test(error.message),
          model,
        );
      }
      assert.equal(
        anthropic.requests.length,
        1,
        "the unknown model id was asked for once: no retry anywhere",
      );
    } finally {
      anthropic.setDefault({ reply: { text: "Hello from the loopback server." } });
    }
  });

  test("refuses a call past the key's daily budget with 429 budget_exceeded", async () => {
    const capped = new OpenAI({ apiKey: "keel-capped-key", baseURL, maxRetries: 0 });
    // Each call costs $0.0035 and may cost up to about $0.005: the $0.01 cap admits two.
    anthropic.setDefault({ reply: { text: "ok", usage: { input: 1_000, output: 500 } } });
    let refused: unknown = null;
    for (let index = 0; index < 20 && refused === null; index += 1) {
      try {
        // Haiku: the test above left Sonnet's circuit open on this shared gateway.
        await capped.chat.completions.create({
          model: "anthropic/claude-haiku-4-5-20251001",
          messages: [{ role: "user", content: "hi" }],
          max_tokens: 1_000,
        });
      } catch (error) {
        refused = error;
      }
    }
    anthropic.setDefault({ reply: { text: "Hello from the loopback server." } });
    assert.equal(anthropic.requests.length, 2);
    assert.ok(refused instanceof OpenAI.RateLimitError, String(refused));
    assert.equal((refused as InstanceType<typeof OpenAI.RateLimitError>).code, "budget_exceeded");
    assert.match((refused as Error).message, /budget for key:capped on \d{4}-\d{2}-\d{2} is exhausted/);
  });

  test("counts each key's calls and prompt-cache reads on the metrics registry", async () => {
    const text = await metrics.metrics();
    const sample = (pattern: RegExp) =>
      [...text.matchAll(new RegExp(pattern, "g"))].reduce((sum, match) => sum + Number(match[1]), 0);
    const calls = sample(
      /keel_gateway_calls_total\{agent="key:app",outcome="ok",response_cache="[a-z]+"\} (\d+)/,
    );
    assert.ok(calls >= 3, text);
    const cacheRead = sample(/keel_gateway_tokens_total\{agent="key:app",kind="cache_read"\} (\d+)/);
    const input = sample(/keel_gateway_tokens_total\{agent="key:app",kind="input"\} (\d+)/);
    assert.ok(cacheRead > 0 && cacheRead <= input, `cache reads ${cacheRead} of ${input} input tokens`);
  });
});
