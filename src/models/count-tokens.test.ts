import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encode as encodeCl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { encode as encodeO200k } from "gpt-tokenizer/encoding/o200k_base";
import {
  APPROXIMATION_MARGIN,
  contextWindowOf,
  DEFAULT_CONTEXT_WINDOW,
  tokenCounterFor,
} from "./count-tokens.ts";

const text = "Привет! Where is order A-17? こんにちは — it shipped on 2026-12-01.";

describe("token counting per provider family", () => {
  test("counts OpenAI's current models exactly with o200k_base and legacy gpt-4 and gpt-3.5 with cl100k_base", async () => {
    const current = await tokenCounterFor("openai", "gpt-4o-mini");
    assert.deepEqual([current.encoding, current.approximate], ["o200k_base", false]);
    assert.equal(current.count(text), encodeO200k(text).length);
    const legacy = await tokenCounterFor("openai", "gpt-4");
    assert.deepEqual([legacy.encoding, legacy.approximate], ["cl100k_base", false]);
    assert.equal(legacy.count(text), encodeCl100k(text).length);
    assert.notEqual(
      encodeO200k(text).length,
      encodeCl100k(text).length,
      "the sample tells the encodings apart",
    );
  });

  test("estimates Anthropic, Gemini and other families with o200k_base scaled up by the safety margin, and says so", async () => {
    for (const [provider, model] of [
      ["anthropic", "claude-sonnet-4-5"],
      ["google", "gemini-2.5-flash"],
      ["openai-compatible", "llama3.1"],
      ["scripted", "scripted"],
    ] as const) {
      const counter = await tokenCounterFor(provider, model);
      assert.equal(counter.approximate, true);
      assert.equal(counter.encoding, `o200k_base×${APPROXIMATION_MARGIN}`);
      assert.equal(counter.count(text), Math.ceil(encodeO200k(text).length * APPROXIMATION_MARGIN));
    }
  });

  test("counts a message's framing and an assistant's tool calls with its content", async () => {
    const counter = await tokenCounterFor("openai", "gpt-4.1");
    const calls = [{ callId: "c1", tool: "lookup", arguments: { order: "A-17" } }];
    const counted = counter.countMessages([
      { role: "user", content: text },
      { role: "assistant", content: "", toolCalls: calls },
    ]);
    assert.equal(counted, 4 + encodeO200k(text).length + 4 + 0 + encodeO200k(JSON.stringify(calls)).length);
  });

  test("knows the context windows of the model ids it lists and assumes a small default for the rest", () => {
    assert.deepEqual(contextWindowOf("gpt-4o-2024-08-06"), { tokens: 128_000, known: true });
    assert.deepEqual(contextWindowOf("claude-3-5-haiku-latest"), { tokens: 200_000, known: true });
    assert.deepEqual(contextWindowOf("gemini-2.5-pro"), { tokens: 1_048_576, known: true });
    assert.deepEqual(contextWindowOf("openai/gpt-5-mini"), { tokens: 400_000, known: true });
    assert.deepEqual(contextWindowOf("llama3.1:8b"), { tokens: DEFAULT_CONTEXT_WINDOW, known: false });
  });
});
