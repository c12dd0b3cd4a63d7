import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import type { ModelMessage } from "../../src/models/model-provider.ts";
import { createRulesModelProvider } from "../../src/models/rules-model-provider.ts";
import { loadAgentSpec } from "../../src/spec/load-agent-spec.ts";
import { providedMemoryTools } from "../../src/spec/memory-section.ts";
import { RulesTable } from "../../src/spec/rules-table.ts";
import { executeToolCall } from "../../src/tools/execute-tool-call.ts";
import type { Tool } from "../../src/tools/tool.ts";
import { supportTriage } from "./index.ts";
import { setupShop } from "./shop/setup-shop.ts";
import { type ShopDatabase, shopDatabaseKinds } from "./test-shop-databases.ts";
import { createSupportTools } from "./tools/create-support-tools.ts";

const RULES_FILE = join(import.meta.dirname, "offline-rules.yaml");
const table = RulesTable.parse(parseYaml(await readFile(RULES_FILE, "utf8")));
const model = createRulesModelProvider({ table });

type Conversation = {
  answer: string;
  calls: { tool: string; arguments: unknown; isError: boolean; content: unknown }[];
};

let conversations = 0;

/** Drive the rules model and the tools the way the runtime's loop does, until the model answers. */
async function converse(tools: Tool[], input: string): Promise<Conversation> {
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  const runId = `run_${++conversations}`;
  const messages: ModelMessage[] = [{ role: "user", content: input }];
  const calls: Conversation["calls"] = [];
  const signal = new AbortController().signal;
  for (let step = 0; step < 12; step++) {
    const { decision } = await model.generate({ system: "", messages, tools: [], params: {}, signal });
    if (decision.kind === "answer") return { answer: decision.text, calls };
    messages.push({ role: "assistant", content: "", toolCalls: decision.calls });
    for (const call of decision.calls) {
      const tool = byName.get(call.tool);
      assert.ok(tool, `the rules called an unknown tool ${call.tool}`);
      const outcome = await executeToolCall({
        tool,
        arguments: call.arguments,
        context: { runId, callId: call.callId, idempotencyKey: `${runId}:${call.callId}` },
        signal,
        timeoutMs: 15_000,
      });
      const isError = outcome.outcome === "error";
      const content = outcome.outcome === "ok" ? outcome.result : outcome.error;
      calls.push({ tool: call.tool, arguments: call.arguments, isError, content });
      messages.push({ role: "tool", callId: call.callId, tool: call.tool, content, isError });
    }
  }
  throw new Error(`no answer within 12 steps for ${JSON.stringify(input)}`);
}

/** Replace one tool by a stand-in, to reach the branches that the seed data cannot (an empty help centre). */
function withTool(tools: Tool[], replacement: Tool): Tool[] {
  return tools.map((tool) => (tool.name === replacement.name ? replacement : tool));
}

const toolNames = (conversation: Conversation) => conversation.calls.map((call) => call.tool);

describe("the offline rules file", () => {
  test("parses as a rules table and ends with a catch-all rule", () => {
    assert.ok(table.rules.length > 10);
    assert.deepEqual(table.rules.at(-1)?.when, {});
  });

  test("calls only tools the agent lists", async () => {
    const loaded = await loadAgentSpec(supportTriage.specFile);
    const called = new Set(table.rules.flatMap((rule) => (rule.call ? [rule.call.tool] : [])));
    for (const tool of called)
      assert.ok(loaded.spec.tools.includes(tool), `${tool} is one of the agent's tools`);
  });

  test("belongs to an agent spec that loads with its prompt, the package's tools and the built-in recall", async () => {
    const loaded = await loadAgentSpec(supportTriage.specFile);
    assert.equal(loaded.spec.name, supportTriage.name);
    assert.equal(loaded.rules?.rules.length, table.rules.length);
    assert.match(loaded.prompt, /Never invent or guess order data/);
    const provided = [
      ...createSupportTools({ sql: null! }).map((tool) => tool.name),
      ...providedMemoryTools(loaded.spec.memory),
    ];
    assert.deepEqual([...loaded.spec.tools].sort(), [...provided].sort());
    assert.deepEqual(loaded.spec.limits, { maxSteps: 12, runTimeout: 120_000, toolTimeout: 15_000 });
  });
});

for (const kind of shopDatabaseKinds()) {
  describe(`the offline rules answer customers ${kind.name}`, { skip: kind.skip }, () => {
    let database: ShopDatabase;
    let tools: Tool[];
    before(async () => {
      database = await kind.open();
      await setupShop(database.sql);
      tools = createSupportTools({ sql: database.sql });
    });
    after(async () => await database?.close());

    test("answers where order 1042 is with its status, carrier and tracking number, however it is asked", async () => {
      for (const input of [
        "where is my order 1042",
        "status of order #1042",
        "track 1042",
        "Where's my package 1042?",
      ]) {
        const conversation = await converse(tools, input);
        assert.deepEqual(toolNames(conversation), ["get_order"], input);
        assert.equal(
          conversation.answer,
          "Hi Ada, order 1042 shipped on 2025-10-28 with UPS. The tracking number is 1ZLH42A80312104284. " +
            "Standard delivery usually takes 3–5 business days after shipping.",
        );
      }
    });

    test("answers for delivered, processing, unpaid and cancelled orders", async () => {
      const answers = await Promise.all(
        [
          "Has order 1038 been delivered?",
          "order 1045?",
          "What about my order 1047",
          "where is order 1043",
        ].map(async (input) => (await converse(tools, input)).answer),
      );
      assert.match(
        answers[0]!,
        /order 1038 was delivered on \d{4}-\d{2}-\d{2} \(USPS, tracking number 9400\d+\)/,
      );
      assert.match(answers[1]!, /order 1045 \(placed on 2025-11-01\) is being packed/);
      assert.match(answers[2]!, /order 1047 \(placed on 2025-11-06\) is waiting for its payment/);
      assert.match(answers[3]!, /order 1043 was cancelled on 2025-10-28/);
    });

    test("asks to check the number when the order does not exist", async () => {
      const conversation = await converse(tools, "Where is my order 9999?");
      assert.deepEqual(toolNames(conversation), ["get_order"]);
      assert.equal(
        conversation.answer,
        "I'm sorry, I couldn't look up that order. Order 9999 was not found. Please check the order number " +
          "in your order confirmation email, for example #1042, and send it to me again.",
      );
    });

    test("asks for the order number when a status or refund request has none", async () => {
      for (const input of ["Where is my order?", "I want a refund"]) {
        const conversation = await converse(tools, input);
        assert.deepEqual(conversation.calls, [], input);
        assert.match(conversation.answer, /What is the order number\?/);
      }
    });

    test("refunds what is left of order 1042, confirms it, and does not refund it twice", async () => {
      const first = await converse(tools, "I want a refund for order 1042");
      assert.deepEqual(toolNames(first), ["get_order", "issue_refund"]);
      assert.deepEqual(first.calls[1]?.arguments, {
        orderId: 1042,
        amount: "96.00",
        reason:
          "Customer asked for a refund of the order in the support chat; refunded the amount not yet refunded.",
      });
      const refundId = (first.calls[1]!.content as { refundId: number }).refundId;
      assert.equal(
        first.answer,
        `Done, Ada: I've issued refund #${refundId} of 96.00 USD for order 1042. It goes back to your original ` +
          "payment method; card refunds usually appear within 5–10 business days.",
      );

      const again = await converse(tools, "Please refund order #1042");
      assert.deepEqual(toolNames(again), ["get_order"]);
      assert.match(again.answer, /^Order 1042 has already been refunded in full \(96\.00 USD\)/);
    });

    test("refunds only the remainder of a partly refunded order", async () => {
      const conversation = await converse(tools, "I'd like a refund for order 1036 please");
      assert.equal((conversation.calls[1]!.arguments as { amount: string }).amount, "181.50");
      assert.match(conversation.answer, /of 181\.50 USD for order 1036/);
    });

    test("opens a high-priority ticket when a refund is refused, and says so", async () => {
      const conversation = await converse(tools, "Can I get a refund for order 1043?");
      assert.deepEqual(toolNames(conversation), ["get_order", "issue_refund", "create_ticket"]);
      assert.equal(conversation.calls[1]?.isError, true);
      const ticket = conversation.calls[2]?.content as {
        ticketId: number;
        priority: string;
        orderId: number;
        body: string;
      };
      assert.equal(ticket.priority, "high");
      assert.equal(ticket.orderId, 1043);
      assert.match(
        ticket.body,
        /refund was refused: Order 1043 was cancelled, so there is no payment to refund\./,
      );
      assert.equal(
        conversation.answer,
        "I'm sorry, I couldn't issue a refund for order 1043 automatically: our records show it as cancelled " +
          `(payment voided), so a colleague needs to look at it. I've opened ticket #${ticket.ticketId} with high ` +
          "priority, and our refunds team will reply by email within one business day.",
      );
    });

    test("hands a partial refund to a person instead of refunding the whole order", async () => {
      const conversation = await converse(tools, "I want a refund of $20 for order 1044");
      assert.deepEqual(toolNames(conversation), ["create_ticket"]);
      assert.match(conversation.answer, /as ticket #\d+\. A person will follow up/);
    });

    test("reports refunds so far, and never issues one, for a question that only mentions a refund", async () => {
      for (const input of ["Did I get my refund for order 1030?", "Refund status for order 1030?"]) {
        const conversation = await converse(tools, input);
        assert.deepEqual(toolNames(conversation), ["get_order"], input);
        assert.match(
          conversation.answer,
          /^Hi Hana, we have refunded 130\.50 USD of the 130\.50 USD paid for order 1030\./,
        );
      }
      const none = await converse(tools, "Have you refunded order 1038 yet?");
      assert.match(
        none.answer,
        /no refund has been issued for order 1038 so far \(its status is delivered\)/,
      );
    });

    test("answers help-centre questions by quoting the best article", async () => {
      const expected: Record<string, string> = {
        "How long does a refund take?": "How long does a refund take?",
        "What is your returns policy?": "Returns: the 30-day window",
        "Can I pay with PayPal?": "Payment methods",
        "I forgot my password": "Your account and password",
        "Do you ship to the UK? What about customs?": "International shipping",
        "My mug arrived broken": "Damaged or faulty items",
        "Is there a warranty on the desk lamp?": "Our two-year warranty",
        "Do gift cards expire?": "Gift cards",
      };
      for (const [input, title] of Object.entries(expected)) {
        const conversation = await converse(tools, input);
        assert.deepEqual(toolNames(conversation), ["search_kb"], input);
        assert.ok(
          conversation.answer.startsWith(`From our help centre, "${title}": `),
          `${input} -> ${conversation.answer}`,
        );
      }
    });

    test("escalates a help-centre question that no article answers", async () => {
      const emptyHelpCentre: Tool = {
        ...tools.find((tool) => tool.name === "search_kb")!,
        execute: async () => ({ articles: [] }),
      };
      const conversation = await converse(withTool(tools, emptyHelpCentre), "Do you deliver on Sundays?");
      assert.deepEqual(toolNames(conversation), ["search_kb", "create_ticket"]);
      assert.equal((conversation.calls[1]!.content as { priority: string }).priority, "low");
      assert.match(
        conversation.answer,
        /^I couldn't find an answer to that in our help centre, so I've passed/,
      );
    });

    test("opens a ticket for a request it does not understand and gives the ticket number", async () => {
      const conversation = await converse(tools, "Could someone call me about a wholesale partnership?");
      assert.deepEqual(toolNames(conversation), ["create_ticket"]);
      const ticketId = (conversation.calls[0]!.content as { ticketId: number }).ticketId;
      assert.equal(
        conversation.answer,
        `I've passed your request to our support team as ticket #${ticketId}. A person will follow up by email ` +
          "within one business day.",
      );
    });

    test("points to email and phone when even the ticket cannot be opened", async () => {
      const brokenTickets: Tool = {
        ...tools.find((tool) => tool.name === "create_ticket")!,
        execute: async () => {
          throw new Error("ticket system unavailable");
        },
      };
      const conversation = await converse(withTool(tools, brokenTickets), "Could someone call me back?");
      assert.match(
        conversation.answer,
        /^I'm sorry, I couldn't open a ticket just now\. Please email help@larkspur\.example/,
      );
    });

    test("greets without calling a tool", async () => {
      const conversation = await converse(tools, "Hello!");
      assert.deepEqual(conversation.calls, []);
      assert.match(conversation.answer, /^Hi! I'm the Larkspur Home support assistant/);
    });
  });
}
