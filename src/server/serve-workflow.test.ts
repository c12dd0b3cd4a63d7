import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { z } from "zod";
import { defineAgent } from "../runtime/agent-package.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { defineTool } from "../tools/tool.ts";
import { createKeel, type Keel } from "./create-keel.ts";

const WORKFLOW = `apiVersion: keel/v1
kind: Workflow
name: order-refund
version: 1.0.0
description: Refunds small orders and sends large ones to a person.
owner: { team: support }
riskTier: 2
state:
  order: { type: object }
  refund: { type: object }
start: lookup
nodes:
  lookup:
    tool: { name: lookup_order, args: { orderId: "\${input.orderId}" } }
    writes: order
    next: route
  route:
    branch:
      - { when: "state.order.total > 100", to: large }
      - { else: refund }
  refund:
    tool: { name: issue_refund, args: { orderId: "\${state.order.id}", amount: "\${state.order.total}" } }
    writes: refund
    next: done
  large:
    end: { output: "Order \${state.order.id} needs a person" }
  done:
    end: { output: "Refunded \${state.refund.amount} on \${state.refund.orderId}" }
governance:
  allowedTools: [lookup_order, issue_refund]
  decisionAuthority:
    autonomous: [lookup_order, { tool: issue_refund, when: "input.amount <= 50" }]
  dataAccess: { allowFinancial: true }
`;

const refunds: { orderId: string; amount: number }[] = [];
const lookupOrder = defineTool({
  name: "lookup_order",
  description: "Reads an order.",
  input: z.object({ orderId: z.string() }),
  output: z.object({ id: z.string(), total: z.number() }),
  async execute({ orderId }) {
    return { id: orderId, total: orderId.startsWith("S") ? 30 : 400 };
  },
});
const issueRefund = defineTool({
  name: "issue_refund",
  description: "Refunds an order.",
  input: z.object({ orderId: z.string(), amount: z.number() }),
  output: z.object({ orderId: z.string(), amount: z.number() }),
  sideEffect: true,
  dataClasses: ["financial"],
  async execute({ orderId, amount }) {
    refunds.push({ orderId, amount });
    return { orderId, amount };
  },
});

let dir: string;
let store: SqlStore;
let keel: Keel;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "keel-workflow-"));
  await writeFile(join(dir, "workflow.yaml"), WORKFLOW);
  store = await openStore();
  keel = await createKeel({
    store,
    agents: [defineAgent({ spec: join(dir, "workflow.yaml"), tools: [lookupOrder, issueRefund] })],
    env: {},
    log: () => undefined,
  });
});
after(async () => {
  await keel.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function run(input: unknown): Promise<{ status: string; answer: string | null; id: string }> {
  const started = await keel.fetch(
    new Request("http://127.0.0.1/v1/agents/order-refund/runs", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: JSON.stringify(input) }),
    }),
  );
  assert.equal(started.status, 202, await started.clone().text());
  const { id } = (await started.json()) as { id: string };
  for (let attempt = 0; attempt < 200; attempt++) {
    const current = (await (await keel.fetch(new Request(`http://127.0.0.1/v1/runs/${id}`))).json()) as {
      status: string;
      answer: string | null;
    };
    if (["completed", "failed", "suspended", "cancelled"].includes(current.status)) return { ...current, id };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("the run did not end within 10 s");
}

test("keel serves a workflow file as it serves an agent: its runs walk the nodes under the workflow's governance", async () => {
  const small = await run({ orderId: "S-1" });
  assert.equal(small.status, "completed");
  assert.equal(small.answer, "Refunded 30 on S-1");
  assert.deepEqual(refunds, [{ orderId: "S-1", amount: 30 }]);
  const large = await run({ orderId: "L-9" });
  assert.equal(large.status, "completed");
  assert.equal(large.answer, "Order L-9 needs a person");
  assert.equal(refunds.length, 1, "the large order took the branch without a refund");
  const listed = await (await keel.fetch(new Request("http://127.0.0.1/v1/agents"))).text();
  assert.match(listed, /order-refund/);
});

test("a workflow whose tool's output does not fit the field it writes stops the start, naming the node", async () => {
  const textLookup = defineTool({
    name: "lookup_order",
    description: "Reads an order, as text.",
    input: z.object({ orderId: z.string() }),
    output: z.string(),
    async execute({ orderId }) {
      return `order ${orderId}`;
    },
  });
  const other = await openStore();
  try {
    await assert.rejects(
      createKeel({
        store: other,
        agents: [defineAgent({ spec: join(dir, "workflow.yaml"), tools: [textLookup, issueRefund] })],
        env: {},
        log: () => undefined,
      }),
      (error: Error) => {
        assert.match(error.message, /workflow order-refund does not fit its package's tools/);
        assert.match(error.message, /nodes\.lookup\.writes: .*string/);
        return true;
      },
    );
  } finally {
    await other.close();
  }
});
