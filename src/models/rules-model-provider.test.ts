import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RulesTable } from "../spec/rules-table.ts";
import type { GenerateOptions, ModelMessage, ModelStreamPart } from "./model-provider.ts";
import { createRulesModelProvider } from "./rules-model-provider.ts";
import { createScriptedModelProvider } from "./scripted-model-provider.ts";
import { splitIntoDeltas } from "./stream-turn-in-deltas.ts";

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

  test("reads only the run's own tool results, not those a session carried from an earlier turn", async () => {
    const carried: ModelMessage[] = [
      { role: "user", content: "Where is my order #1042?" },
      {
        role: "assistant",
        content: "",
        toolCalls: [{ callId: "call_1", tool: "get_order", arguments: { orderId: "1042" } }],
      },
      {
        role: "tool",
        callId: "call_1",
        tool: "get_order",
        content: { id: 1042, status: "shipped" },
        isError: false,
      },
      { role: "assistant", content: "Order 1042 is shipped." },
    ];
    const messages: ModelMessage[] = [...carried, { role: "user", content: "And order #77?" }];
    const turn = await model.generate({
      system: "",
      messages,
      carriedMessages: carried.length,
      tools: [],
      params: {},
      signal,
    });
    // The carried get_order result is not this run's: it looks order 77 up rather than answering about 1042.
    assert.deepEqual(turn.decision, {
      kind: "tool-calls",
      calls: [
        { callId: "call_3", tool: "get_order", arguments: { orderId: "77", note: "for And order #77?" } },
      ],
    });
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

describe("the offline stand-ins streaming", () => {
  async function collect(parts: AsyncIterable<ModelStreamPart>): Promise<ModelStreamPart[]> {
    const seen: ModelStreamPart[] = [];
    for await (const part of parts) seen.push(part);
    return seen;
  }
  const textOf = (parts: readonly ModelStreamPart[]) =>
    parts.map((part) => (part.type === "text-delta" ? part.text : "")).join("");

  test("the rules engine streams its answer word by word, and the deltas make up the finished turn's text", async () => {
    const messages: ModelMessage[] = [{ role: "user", content: "hello there" }];
    const parts = await collect(model.stream!({ system: "", messages, tools: [], params: {}, signal }));
    const deltas = parts.filter((part) => part.type === "text-delta");
    assert.equal(deltas.length, 7);
    assert.equal(textOf(parts), "I will pass this to a person.");
    const last = parts.at(-1);
    assert.ok(last?.type === "finish");
    assert.deepEqual(last.turn.decision, { kind: "answer", text: "I will pass this to a person." });
  });

  test("the rules engine streams a tool call whole, after no text", async () => {
    const messages: ModelMessage[] = [{ role: "user", content: "where is order 7?" }];
    const parts = await collect(model.stream!({ system: "", messages, tools: [], params: {}, signal }));
    assert.deepEqual(
      parts.map((part) => part.type),
      ["tool-call", "finish"],
    );
  });

  test("the scripted double streams each turn's text, keeping every space, and a wrapper's generate is used", async () => {
    const text = "  Two  spaces, a tab\tand a trailing space ";
    const scripted = createScriptedModelProvider({ turns: [{ kind: "answer", text }] });
    let calls = 0;
    const counting = {
      ...scripted,
      generate: async (request: GenerateOptions) => {
        calls += 1;
        return await scripted.generate(request);
      },
    };
    const parts = await collect(
      counting.stream!({
        system: "",
        messages: [{ role: "user", content: "x" }],
        tools: [],
        params: {},
        signal,
      }),
    );
    assert.equal(textOf(parts), text);
    assert.deepEqual(splitIntoDeltas(text), [
      "  Two",
      "  spaces,",
      " a",
      " tab",
      "\tand",
      " a",
      " trailing",
      " space",
      " ",
    ]);
    assert.equal(calls, 1);
  });

  test("the scripted double stops streaming when its signal is aborted", async () => {
    const scripted = createScriptedModelProvider({
      turns: [{ kind: "answer", text: "one two three four" }],
      deltaDelayMs: 20,
    });
    const controller = new AbortController();
    const seen: ModelStreamPart[] = [];
    await assert.rejects(async () => {
      for await (const part of scripted.stream!({
        system: "",
        messages: [{ role: "user", content: "x" }],
        tools: [],
        params: {},
        signal: controller.signal,
      })) {
        seen.push(part);
        controller.abort(new Error("stop"));
      }
    }, /stop/);
    assert.equal(seen.length, 1);
  });
});
