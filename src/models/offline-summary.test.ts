import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RulesTable } from "../spec/rules-table.ts";
import type { GenerateOptions, ModelMessage } from "./model-provider.ts";
import { SUMMARIZE_SYSTEM_PROMPT } from "./offline-summary.ts";
import { createRulesModelProvider } from "./rules-model-provider.ts";
import { createScriptedModelProvider } from "./scripted-model-provider.ts";

const signal = new AbortController().signal;
const rules = createRulesModelProvider({
  table: RulesTable.parse({
    apiVersion: "keel/v1",
    kind: "RulesTable",
    rules: [
      { name: "order", when: { input: "order" }, answer: "Your order shipped." },
      { name: "fallback", answer: "I will pass this to a person." },
    ],
  }),
});
const scripted = createScriptedModelProvider({
  turns: [
    { kind: "tool-calls", calls: [{ callId: "c1", tool: "lookup", arguments: {} }] },
    { kind: "answer", text: "second turn of the script" },
  ],
});
const request = (messages: ModelMessage[], system = "", maxOutputTokens?: number): GenerateOptions => ({
  system,
  messages,
  tools: [],
  params: maxOutputTokens === undefined ? {} : { maxOutputTokens },
  signal,
});
const summaryCall = (maxOutputTokens: number) =>
  request(
    [
      {
        role: "user",
        content:
          "Summary so far:\n(offline extractive summary) The user said: I am Ada\n\nConversation to fold into the summary:\nUser: my order is A-17\nAssistant: noted\n\nUser: I prefer email\nAssistant: ok",
      },
    ],
    SUMMARIZE_SYSTEM_PROMPT,
    maxOutputTokens,
  );

describe("offline stand-ins in a session", () => {
  test("the rules engine and a scripted list answer a summary call with an extractive summary labelled as such", async () => {
    for (const provider of [rules, scripted]) {
      const { decision } = await provider.generate(summaryCall(200));
      assert.deepEqual(decision, {
        kind: "answer",
        text: "(offline extractive summary) The user said: I am Ada | my order is A-17 | I prefer email",
      });
    }
    // Cut to its allowance, the latest of what the user said is kept.
    const { decision } = await rules.generate(summaryCall(20));
    assert.deepEqual(decision, {
      kind: "answer",
      text: "(offline extractive summary) The user said: I prefer email",
    });
  });

  test("the rules engine matches a session's run on its own input, after the turns it carries", async () => {
    const carried: ModelMessage[] = [
      { role: "user", content: "where is my order?" },
      { role: "assistant", content: "Your order shipped." },
    ];
    const { decision } = await rules.generate({
      ...request([...carried, { role: "user", content: "thanks" }]),
      carriedMessages: carried.length,
    });
    assert.deepEqual(decision, { kind: "answer", text: "I will pass this to a person." });
  });

  test("a scripted list plays a session's run from its first turn, whatever the turns it carries", async () => {
    const carried: ModelMessage[] = [
      { role: "user", content: "hello" },
      { role: "assistant", content: "hi" },
    ];
    const first = await scripted.generate({
      ...request([...carried, { role: "user", content: "look it up" }]),
      carriedMessages: carried.length,
    });
    assert.equal(first.decision.kind, "tool-calls");
    const second = await scripted.generate({
      ...request([
        ...carried,
        { role: "user", content: "look it up" },
        { role: "assistant", content: "", toolCalls: [{ callId: "c1", tool: "lookup", arguments: {} }] },
        { role: "tool", callId: "c1", tool: "lookup", content: {}, isError: false },
      ]),
      carriedMessages: carried.length,
    });
    assert.deepEqual(second.decision, { kind: "answer", text: "second turn of the script" });
  });
});
