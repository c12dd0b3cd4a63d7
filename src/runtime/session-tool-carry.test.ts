import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testStores } from "../../test/support/test-database.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import type { JournalEvent, PayloadOf, Principal } from "../journal/index.ts";
import {
  createScriptedModelProvider,
  type GenerateOptions,
  type ModelMessage,
  runInputIndex,
  tokenCounterFor,
} from "../models/index.ts";
import { type SessionQueries, type SqlStore, sqlSessionQueries } from "../store/index.ts";
import { defineTool } from "../tools/tool.ts";
import { createAgentCatalog } from "./agent-catalog.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { startRun } from "./start-run.ts";
import { createWorker, type Worker } from "./worker.ts";

const principal: Principal = { subject: "user:ada", tenant: "default", roles: [] };

const orderStatus = defineTool({
  name: "order_status",
  description: "The status of an order.",
  input: z.object({ order: z.string() }),
  async execute({ order }) {
    return { order, status: "shipped", carrier: "DHL" };
  },
});
const issueRefund = defineTool({
  name: "issue_refund",
  description: "Refunds an order (forbidden to this agent).",
  input: z.object({ order: z.string() }),
  sideEffect: true,
  async execute() {
    return { refunded: true };
  },
});
const warehouse = defineTool({
  name: "warehouse_stock",
  description: "Stock at the warehouse (its system is down).",
  input: z.object({}),
  async execute() {
    throw new Error("warehouse system unreachable");
  },
});

/**
 * A support agent whose scripted model asks for the order's status (and, for a refund, a refund it may not make,
 * and the stock, whose system is down) when the message names an order, and answers from the status tool's result.
 * Every request it gets is kept, by the run's input.
 */
function supportAgent(name: string, context?: AgentDefinition["context"]) {
  const requests = new Map<string, GenerateOptions[]>();
  const agent: AgentDefinition = {
    ...scriptedAgent({ name, turns: [], tools: [orderStatus, issueRefund, warehouse] }),
    ...(context ? { context } : {}),
    params: { maxOutputTokens: 100 },
    provider: createScriptedModelProvider({
      turns: (request) => {
        const own = request.messages.slice(runInputIndex(request));
        const input = String(own[0]?.content);
        requests.set(input, [
          ...(requests.get(input) ?? []),
          { ...request, messages: [...request.messages] },
        ]);
        const order = /order ([A-Z]-\d+)/.exec(input)?.[1];
        if (own.length === 1 && order) {
          const calls = [{ callId: `status-${order}`, tool: "order_status", arguments: { order } }];
          if (input.includes("refund")) {
            calls.push(
              { callId: `refund-${order}`, tool: "issue_refund", arguments: { order } },
              { callId: `stock-${order}`, tool: "warehouse_stock", arguments: {} as { order: string } },
            );
          }
          return { kind: "tool-calls", calls };
        }
        const status = own.find(
          (message): message is Extract<ModelMessage, { role: "tool" }> =>
            message.role === "tool" && message.tool === "order_status",
        );
        if (status) {
          const result = status.content as { order: string; status: string; carrier: string };
          return {
            kind: "answer",
            text: `Order ${result.order} is ${result.status} with ${result.carrier}.`,
          };
        }
        return { kind: "answer", text: "You are welcome." };
      },
    }),
  };
  return { agent, requests };
}

async function converse(options: {
  store: SqlStore;
  worker: Worker;
  sessions: SessionQueries;
  agent: AgentDefinition;
  inputs: readonly string[];
}): Promise<{ sessionId: string; journals: JournalEvent[][] }> {
  const { sessionId } = await options.sessions.createSession({ agent: options.agent.name, principal });
  const journals: JournalEvent[][] = [];
  for (const input of options.inputs) {
    const { run } = await startRun({
      store: options.store,
      agent: options.agent,
      input,
      principal,
      session: { sessionId },
    });
    options.worker.poke();
    for (;;) {
      const current = await options.store.getRun(run.runId);
      if (current?.status === "completed") break;
      assert.ok(current && ["queued", "running"].includes(current.status), `${input}: ${current?.status}`);
      await options.store.waitForEvents({ runId: run.runId, afterSeq: current.lastSeq, timeoutMs: 200 });
    }
    journals.push(await options.store.readEvents({ runId: run.runId }));
  }
  return { sessionId, journals };
}

const carryOf = (journal: readonly JournalEvent[]): PayloadOf<"context-carry"> => {
  const event = journal.find((each) => each.type === "context-carry");
  assert.ok(event?.type === "context-carry", "every session run journals what it carried");
  return event.payload;
};

/** A message as a test compares it: role, tool and outcome, without ids. */
const shapeOf = (message: ModelMessage) =>
  message.role === "tool"
    ? `tool ${message.tool} ${message.isError ? `error ${(message.content as { code: string }).code}` : "ok"}`
    : message.role === "assistant" && message.toolCalls
      ? `assistant calls ${message.toolCalls.map((call) => call.tool).join(", ")}`
      : `${message.role} ${message.content}`;

for (const backend of testStores()) {
  describe(`tool turns carried between a session's turns on ${backend.name}`, () => {
    let store: SqlStore;
    let worker: Worker;
    let sessions: SessionQueries;
    const plain = supportAgent("carry-tools");
    // Room for the latest turn with its tool call (about 90 tokens past the 255 reserved) but not two.
    const tight = supportAgent("carry-tools-tight", {
      maxTokens: 400,
      strategy: "drop-oldest",
      keepLastTurns: 1,
    });

    before(async () => {
      store = await backend.open();
      const agents = [plain.agent, tight.agent];
      worker = createWorker({
        store,
        agents: createAgentCatalog(agents).lookup,
        governor: await testGovernor(agents, {
          governance: (agent) => ({
            allowedTools: [...agent.tools.keys()],
            decisionAuthority: {
              autonomous: ["order_status", "warehouse_stock"],
              forbidden: ["issue_refund"],
            },
            dataAccess: { allowPii: true, allowFinancial: true },
          }),
        }),
        owner: "tool-carry-test",
        leaseTtlMs: 5_000,
      });
      worker.start();
      sessions = sqlSessionQueries(store.sql);
    });
    after(async () => {
      await worker.stop();
      await store.close();
    });

    test("the next turn's model reads the tool call an answer came from and its result, a denied and a failed call as they ended", async () => {
      const { journals } = await converse({
        store,
        worker,
        sessions,
        agent: plain.agent,
        inputs: ["Has order A-17 shipped? If not, refund it.", "Thanks, that is all."],
      });
      const first = journals[0]!.find((event) => event.type === "run-end");
      assert.ok(first?.type === "run-end");
      assert.equal(first.payload.answer, "Order A-17 is shipped with DHL.");

      const [request] = plain.requests.get("Thanks, that is all.") ?? [];
      assert.ok(request, "the second turn's model was asked");
      assert.deepEqual(request.messages.map(shapeOf), [
        "user Has order A-17 shipped? If not, refund it.",
        "assistant calls order_status, issue_refund, warehouse_stock",
        "tool order_status ok",
        "tool issue_refund error denied",
        "tool warehouse_stock error tool_failed",
        "assistant Order A-17 is shipped with DHL.",
        "user Thanks, that is all.",
      ]);
      assert.equal(request.carriedMessages, 6, "the offline stand-ins know where the run's own input starts");
      const call = request.messages[1];
      assert.ok(call?.role === "assistant");
      assert.deepEqual(call.toolCalls?.[0], {
        callId: "status-A-17",
        tool: "order_status",
        arguments: { order: "A-17" },
      });
      const result = request.messages[2];
      assert.ok(result?.role === "tool");
      assert.deepEqual(result, {
        role: "tool",
        callId: "status-A-17",
        tool: "order_status",
        content: { order: "A-17", status: "shipped", carrier: "DHL" },
        isError: false,
      });
      assert.match(
        String((request.messages[4] as { content: { message: string } }).content.message),
        /warehouse system unreachable/,
      );

      // The carry journals exactly what the model read ahead of the input, each message with its turn.
      const carry = carryOf(journals[1]!);
      assert.deepEqual(
        carry.messages.map(({ turn, ...message }) => [turn, message]),
        request.messages.slice(0, 6).map((message) => [1, message]),
      );
      assert.deepEqual([carry.turnsBefore, carry.turnsCarried, carry.turnsDropped], [1, 1, 0]);
    });

    test("drop-oldest drops a turn with its tool calls and results, and the tokens count them", async () => {
      const inputs = [
        "Where is order B-1? It is a gift.",
        "And where is order B-2?",
        "And order B-3, with the blue box?",
      ];
      const { journals } = await converse({ store, worker, sessions, agent: tight.agent, inputs });
      const carry = carryOf(journals[2]!);
      assert.deepEqual([carry.turnsBefore, carry.turnsCarried, carry.turnsDropped], [2, 1, 1]);
      assert.deepEqual(
        carry.messages.map((message) => message.turn),
        [2, 2, 2, 2],
        "only whole turns are carried: the latest that fits, tool messages and all",
      );
      assert.ok(
        !carry.messages.some((message) => message.role === "tool" && message.callId === "status-B-1"),
        "the dropped turn's tool result went with it",
      );
      const [request] = tight.requests.get(inputs[2]!) ?? [];
      assert.ok(request);
      assert.equal(request.carriedMessages, 4);
      assert.deepEqual(request.messages.map(shapeOf), [
        "user And where is order B-2?",
        "assistant calls order_status",
        "tool order_status ok",
        "assistant Order B-2 is shipped with DHL.",
        "user And order B-3, with the blue box?",
      ]);
      // The tool messages are counted: without them both earlier turns would have fitted.
      const counter = await tokenCounterFor("scripted", "scripted");
      const budget = carry.window.maxTokens - carry.window.reservedTokens;
      assert.ok(carry.tokensCarried <= budget);
      assert.ok(carry.tokensBefore > budget, `${carry.tokensBefore} tokens before, ${budget} budget`);
      const withoutTools = [1, 2].reduce(
        (sum, at) =>
          sum +
          counter.countMessages([
            { role: "user", content: inputs[at - 1]! },
            { role: "assistant", content: `Order B-${at} is shipped with DHL.` },
          ]),
        0,
      );
      assert.ok(
        withoutTools <= budget,
        "the turns' text alone would have fitted: the tool messages were counted",
      );
    });
  });
}
