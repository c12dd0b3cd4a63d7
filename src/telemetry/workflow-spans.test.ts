import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import type { JournalEvent } from "../journal/events.ts";
import { nodeTraceParent, parseTraceParent } from "../journal/index.ts";
import type { AgentDefinition } from "../runtime/agent-definition.ts";
import { startRun } from "../runtime/start-run.ts";
import { createWorker } from "../runtime/worker.ts";
import { defineWorkflow } from "../spec/index.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { defineTool } from "../tools/tool.ts";
import { buildRunSpans } from "./build-run-spans.ts";
import type { KeelSpan } from "./keel-span.ts";

const principal = { subject: "tester", tenant: "default", roles: [] };

const lookup = defineTool({
  name: "lookup_order",
  description: "Reads an order.",
  input: z.object({ orderId: z.string() }),
  output: z.object({ id: z.string(), total: z.number() }),
  async execute({ orderId }) {
    return { id: orderId, total: orderId === "A-1" ? 40 : 250 };
  },
});

/** Look an order up, route on its total: two nodes that act and one that only routes. */
const workflowAgent: AgentDefinition = {
  ...scriptedAgent({ name: "order-check", turns: [], tools: [lookup], maxSteps: 10 }),
  workflow: defineWorkflow({
    name: "order-check",
    version: "1.0.0",
    description: "Looks an order up and routes on its total.",
    owner: { team: "qa" },
    riskTier: 3,
    state: { order: { type: "object" } },
    start: "lookup",
    nodes: {
      lookup: {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a workflow template, filled in by the interpreter
        tool: { name: "lookup_order", args: { orderId: "${input.orderId}" } },
        writes: "order",
        next: "route",
      },
      route: { branch: [{ when: "state.order.total > 100", to: "large" }, { else: "small" }] },
      large: { end: { output: "large" } },
      small: { end: { output: "small" } },
    },
  }),
};

/** An agent that calls the same tool under the same call id in every run: what sibling child runs look like. */
const childAgent = scriptedAgent({
  name: "order-reader",
  turns: [
    {
      kind: "tool-calls",
      calls: [{ callId: "call_1", tool: "lookup_order", arguments: { orderId: "A-1" } }],
    },
    { kind: "answer", text: "read" },
  ],
  tools: [lookup],
});

let store: SqlStore;
before(async () => {
  store = await openStore({});
});
after(async () => {
  await store.close();
});

async function runToEnd(
  agent: AgentDefinition,
  input: string,
  traceparent?: string,
): Promise<JournalEvent[]> {
  const worker = createWorker({
    store,
    agents: (name) => (name === agent.name ? agent : undefined),
    governor: await testGovernor([agent]),
    owner: "spans-test",
  });
  const { run } = await startRun({
    store,
    agent,
    input,
    principal,
    ...(traceparent === undefined ? {} : { traceparent }),
  });
  worker.start();
  try {
    for (let waited = 0; waited < 10_000; waited += 10) {
      const current = await store.getRun(run.runId);
      if (current && ["completed", "failed", "cancelled"].includes(current.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await worker.stop();
  }
  return await store.readEvents({ runId: run.runId });
}

const named = (spans: readonly KeelSpan[], name: string) => spans.find((span) => span.name === name);

describe("a workflow run's trace", () => {
  test("has a workflow_node span per node entered, with the node's calls under it", async () => {
    const spans = buildRunSpans(await runToEnd(workflowAgent, '{"orderId":"B-2"}'));
    const root = spans.find((span) => span.operation === "invoke_agent")!;
    const nodes = spans.filter((span) => span.operation === "workflow_node");
    assert.deepEqual(
      nodes.map((span) => span.name),
      ["workflow_node lookup", "workflow_node route", "workflow_node large"],
    );
    for (const node of nodes) {
      assert.equal(node.parentSpanId, root.spanId);
      assert.equal(node.status.code, "ok");
      assert.notEqual(node.endMs, null);
    }
    const lookupNode = named(spans, "workflow_node lookup")!;
    assert.equal(lookupNode.attributes["keel.workflow.node_kind"], "tool");
    assert.equal(lookupNode.attributes["keel.workflow.next"], "route");
    assert.equal(named(spans, "workflow_node route")!.attributes["keel.workflow.next"], "large");
    const tool = named(spans, "execute_tool lookup_order")!;
    assert.equal(tool.parentSpanId, lookupNode.spanId, "the tool call hangs under its node");
    const decision = spans.find((span) => span.operation === "policy_decision")!;
    assert.equal(decision.parentSpanId, tool.spanId);
  });

  test("nests a child run started under its node's traceparent below that node, in the parent's trace", async () => {
    const parentEvents = await runToEnd(workflowAgent, '{"orderId":"A-1"}');
    const parentSpans = buildRunSpans(parentEvents);
    const node = named(parentSpans, "workflow_node lookup")!;
    const traceparent = nodeTraceParent({ runId: parentEvents[0]!.runId, node: "lookup", visit: 1 });
    assert.equal(parseTraceParent(traceparent)?.spanId, node.spanId);

    const first = buildRunSpans(await runToEnd(childAgent, "read A-1", traceparent));
    const second = buildRunSpans(await runToEnd(childAgent, "read A-1", traceparent));
    const firstRoot = first.find((span) => span.operation === "invoke_agent")!;
    assert.equal(firstRoot.traceId, node.traceId, "the child continues the parent's trace");
    assert.equal(
      firstRoot.parentSpanId,
      node.spanId,
      "the child's root hangs under the node that started it",
    );
    // Sibling children share the trace and their call ids: their spans must still be distinct.
    const ids = new Set([...parentSpans, ...first, ...second].map((span) => span.spanId));
    assert.equal(ids.size, parentSpans.length + first.length + second.length, "no span id is used twice");
    const firstTool = named(first, "execute_tool lookup_order")!;
    assert.equal(firstTool.parentSpanId, firstRoot.spanId);
  });
});
