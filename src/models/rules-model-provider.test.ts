import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RulesTable } from "../spec/rules-table.ts";
import type { ModelMessage } from "./model-provider.ts";
import { createRulesModelProvider } from "./rules-model-provider.ts";

const table = RulesTable.parse({
  apiVersion: "keel/v1",
  kind: "RulesTable",
  rules: [
    {
      name: "lookup",
      when: { input: "order\\s*#?(?<orderId>\\d+)", lastTool: "none" },
      call: { tool: "get_order", arguments: { orderId: "{{captures.orderId}}", note: "for {{input}}" } },
    },
    {
      name: "refund",
      when: { input: "refund", lastTool: "get_order", lastResult: { total: { gt: 0 }, status: "delivered" } },
      call: {
        tool: "issue_refund",
        arguments: { orderId: "{{results.get_order.id}}", amount: "{{last.result.total}}" },
      },
    },
    { name: "failed", when: { lastError: true }, answer: "Sorry: {{last.error.message}}" },
    {
      name: "status",
      when: { lastTool: "get_order" },
      answer: "Order {{results.get_order.id}} is {{last.result.status}}.",
    },
    { name: "done", when: { called: ["issue_refund"] }, answer: "Refunded {{results.issue_refund.amount}}." },
    { name: "fallback", answer: "I will pass this to a person." },
  ],
});

const model = createRulesModelProvider({ table });
const signal = new AbortController().signal;

async function decide(messages: ModelMessage[]) {
  return (await model.generate({ system: "", messages, tools: [], params: {}, signal })).decision;
}

describe("rules model", () => {
  test("reports itself as an offline stand-in", () => {
    assert.equal(model.offline, true);
    assert.equal(model.provider, "rules");
  });

  test("calls a tool with arguments taken from named captures", async () => {
    const decision = await decide([{ role: "user", content: "Where is my order #1042?" }]);
    assert.deepEqual(decision, {
      kind: "tool-calls",
      calls: [
        {
          callId: "call_1",
          tool: "get_order",
          arguments: { orderId: "1042", note: "for Where is my order #1042?" },
        },
      ],
    });
  });

  test("keeps the type of a value when a template is one whole placeholder", async () => {
    const decision = await decide([
      { role: "user", content: "refund order 7 please" },
      { role: "assistant", content: "", toolCalls: [{ callId: "call_1", tool: "get_order", arguments: {} }] },
      {
        role: "tool",
        callId: "call_1",
        tool: "get_order",
        content: { id: 7, total: 25.5, status: "delivered" },
        isError: false,
      },
    ]);
    assert.deepEqual(decision, {
      kind: "tool-calls",
      calls: [{ callId: "call_2", tool: "issue_refund", arguments: { orderId: 7, amount: 25.5 } }],
    });
  });

  test("skips a rule whose result test fails and answers from a template", async () => {
    const decision = await decide([
      { role: "user", content: "refund order 7 please" },
      { role: "assistant", content: "", toolCalls: [{ callId: "call_1", tool: "get_order", arguments: {} }] },
      {
        role: "tool",
        callId: "call_1",
        tool: "get_order",
        content: { id: 7, total: 25.5, status: "cancelled" },
        isError: false,
      },
    ]);
    assert.deepEqual(decision, { kind: "answer", text: "Order 7 is cancelled." });
  });

  test("sees the latest tool error", async () => {
    const decision = await decide([
      { role: "user", content: "order 99" },
      { role: "assistant", content: "", toolCalls: [{ callId: "call_1", tool: "get_order", arguments: {} }] },
      {
        role: "tool",
        callId: "call_1",
        tool: "get_order",
        content: { code: "tool_failed", message: "no order 99" },
        isError: true,
      },
    ]);
    assert.deepEqual(decision, { kind: "answer", text: "Sorry: no order 99" });
  });

  test("falls through to the catch-all for an unknown request", async () => {
    assert.deepEqual(await decide([{ role: "user", content: "hello" }]), {
      kind: "answer",
      text: "I will pass this to a person.",
    });
  });

  test("fails clearly when a template path does not resolve", async () => {
    const broken = createRulesModelProvider({
      table: RulesTable.parse({
        apiVersion: "keel/v1",
        kind: "RulesTable",
        rules: [{ name: "r", answer: "{{captures.nope}}" }],
      }),
    });
    await assert.rejects(
      broken.generate({
        system: "",
        messages: [{ role: "user", content: "x" }],
        tools: [],
        params: {},
        signal,
      }),
      /rule "r": template path "captures.nope" does not resolve/,
    );
  });

  test("fails clearly when no rule matches", async () => {
    const strict = createRulesModelProvider({
      table: RulesTable.parse({
        apiVersion: "keel/v1",
        kind: "RulesTable",
        rules: [{ name: "r", when: { input: "x" }, answer: "a" }],
      }),
    });
    await assert.rejects(
      strict.generate({
        system: "",
        messages: [{ role: "user", content: "y" }],
        tools: [],
        params: {},
        signal,
      }),
      /no rule in the rules table matched/,
    );
  });
});
