import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import type { JournalEvent } from "../journal/events.ts";
import type { GenerateOptions } from "../models/model-provider.ts";
import { createScriptedModelProvider } from "../models/scripted-model-provider.ts";
import { defineWorkflow } from "../spec/index.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { defineTool, type ReconcileContext, type Reconciliation, type Tool } from "../tools/tool.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { outputRejectionMessage } from "./check-structured-answer.ts";
import { sendSignal } from "./send-signal.ts";
import { startRun } from "./start-run.ts";
import { createWorker } from "./worker.ts";

const principal = { subject: "tester", tenant: "default", roles: [] };

/** A refund workflow: look the order up, send large ones to a person, refund small ones (a side effect). */
const refundCheck = defineWorkflow({
  name: "refund-check",
  version: "1.0.0",
  description: "Refunds small orders and sends large ones to a person.",
  owner: { team: "qa" },
  riskTier: 2,
  state: { order: { type: "object" }, refund: { type: "object" } },
  start: "lookup",
  nodes: {
    lookup: {
      tool: { name: "lookup_order", args: { orderId: "${input.orderId}" } },
      writes: "order",
      next: "route",
    },
    route: { branch: [{ when: "state.order.total > 100", to: "large" }, { else: "refund" }] },
    refund: {
      tool: { name: "issue_refund", args: { orderId: "${state.order.id}", amount: "${state.order.total}" } },
      writes: "refund",
      next: "done",
    },
    large: { end: { output: "Order ${state.order.id} (${state.order.total}) needs a person" } },
    done: { end: { output: "${state.refund}" } },
  },
  limits: { maxSteps: 10 },
});

type Refund = { orderId: string; amount: number; key: string };

function refundTools(refunds: Refund[]): Tool[] {
  const lookup = defineTool({
    name: "lookup_order",
    description: "Reads an order.",
    input: z.object({ orderId: z.string() }),
    async execute({ orderId }) {
      return { id: orderId, total: orderId === "A-1" ? 40 : 250 };
    },
  });
  const refund = defineTool({
    name: "issue_refund",
    description: "Refunds an order.",
    input: z.object({ orderId: z.string(), amount: z.number() }),
    sideEffect: true,
    async execute({ orderId, amount }, { idempotencyKey }) {
      refunds.push({ orderId, amount, key: idempotencyKey });
      return { refunded: amount, orderId };
    },
  });
  return [lookup, refund];
}

function workflowAgent(tools: Tool[]): AgentDefinition {
  return {
    ...scriptedAgent({ name: "refund-check", turns: [], tools, maxSteps: 10 }),
    workflow: refundCheck,
  };
}

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
): Promise<{ runId: string; events: JournalEvent[] }> {
  const governor = await testGovernor([agent]);
  const worker = createWorker({
    store,
    agents: (name) => (name === agent.name ? agent : undefined),
    governor,
    owner: "workflow-test",
  });
  const { run } = await startRun({ store, agent, input, principal });
  worker.start();
  try {
    for (let waited = 0; waited < 10_000; waited += 20) {
      const current = await store.getRun(run.runId);
      if (current && ["completed", "failed", "cancelled"].includes(current.status)) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await worker.stop();
  }
  return { runId: run.runId, events: await store.readEvents({ runId: run.runId }) };
}

function nodePath(events: readonly JournalEvent[]): string[] {
  return events.flatMap((event) =>
    event.type === "node-end" ? [`${event.payload.node}→${event.payload.next ?? "end"}`] : [],
  );
}

describe("a workflow run", () => {
  test("walks its nodes by the state its tools wrote, and ends with its end node's output", async () => {
    const refunds: Refund[] = [];
    const { runId, events } = await runToEnd(workflowAgent(refundTools(refunds)), '{"orderId":"A-1"}');
    assert.deepEqual(nodePath(events), ["lookup→route", "route→refund", "refund→done", "done→end"]);
    const run = await store.getRun(runId);
    assert.equal(run?.status, "completed");
    assert.deepEqual(JSON.parse(run?.answer ?? "null"), { refunded: 40, orderId: "A-1" });
    assert.deepEqual(refunds, [{ orderId: "A-1", amount: 40, key: `${runId}:refund.1` }]);
    // Every tool call went through the governor, and each side effect's start was durable before it ran.
    const decided = events.filter(
      (event) => event.type === "policy-decision" && event.payload.action === "tool-call",
    );
    assert.equal(decided.length, 2);
  });

  test("takes the branch its condition picks and never runs the side effect on the other path", async () => {
    const refunds: Refund[] = [];
    const { runId, events } = await runToEnd(workflowAgent(refundTools(refunds)), '{"orderId":"B-2"}');
    assert.deepEqual(nodePath(events), ["lookup→route", "route→large", "large→end"]);
    assert.equal((await store.getRun(runId))?.answer, "Order B-2 (250) needs a person");
    assert.deepEqual(refunds, []);
  });

  test("fails with the node's name when its tool fails, rather than going on without the value", async () => {
    const [lookup] = refundTools([]);
    const broken = defineTool({
      name: "issue_refund",
      description: "Refunds an order.",
      input: z.object({ orderId: z.string(), amount: z.number() }),
      async execute() {
        throw new Error("payment service down");
      },
    });
    const { runId, events } = await runToEnd(workflowAgent([lookup!, broken]), '{"orderId":"A-1"}');
    const run = await store.getRun(runId);
    assert.equal(run?.status, "failed");
    assert.match(run?.error?.message ?? "", /node refund: .*payment service down/);
    assert.deepEqual(nodePath(events), ["lookup→route", "route→refund", "refund→end"]);
  });

  test("interrupted inside a node, resumes on another worker at that node; finished nodes are not run again", async () => {
    const refunds: Refund[] = [];
    const [lookup, refund] = refundTools(refunds);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let refundStarted: () => void = () => {};
    const started = new Promise<void>((resolve) => {
      refundStarted = resolve;
    });
    let lookups = 0;
    const counted = {
      ...lookup!,
      execute: async (...args: Parameters<Tool["execute"]>) => {
        lookups += 1;
        return await lookup!.execute(...args);
      },
    } as Tool;
    // The refund waits for the test, and honours the worker's stop: the first worker is stopped inside it.
    const held = {
      ...refund!,
      execute: async (...args: Parameters<Tool["execute"]>) => {
        refundStarted();
        await Promise.race([
          gate,
          new Promise((_, reject) =>
            args[1].signal.addEventListener("abort", () => reject(args[1].signal.reason)),
          ),
        ]);
        return await refund!.execute(...args);
      },
      // Asked on resume whether the interrupted attempt took effect: it had not (the refund list is the truth).
      async reconcile(_input: unknown, { idempotencyKey }: ReconcileContext): Promise<Reconciliation> {
        const done = refunds.find((entry) => entry.key === idempotencyKey);
        return done
          ? { applied: true, result: { refunded: done.amount, orderId: done.orderId } }
          : { applied: false };
      },
    } as Tool;
    const agent = workflowAgent([counted, held]);
    const governor = await testGovernor([agent]);
    const agents = (name: string) => (name === agent.name ? agent : undefined);
    const first = createWorker({ store, agents, governor, owner: "first" });
    const { run } = await startRun({ store, agent, input: '{"orderId":"A-1"}', principal });
    first.start();
    await started;
    await first.stop();
    const second = createWorker({ store, agents, governor, owner: "second" });
    second.start();
    release();
    try {
      for (let waited = 0; waited < 10_000; waited += 20) {
        if ((await store.getRun(run.runId))?.status === "completed") break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await second.stop();
    }
    const events = await store.readEvents({ runId: run.runId });
    assert.equal((await store.getRun(run.runId))?.status, "completed");
    assert.deepEqual(nodePath(events), ["lookup→route", "route→refund", "refund→done", "done→end"]);
    assert.equal(lookups, 1, "the finished lookup node is not run again");
    assert.equal(refunds.length, 1, "the refund happened once");
    const attempts = events.flatMap((event) =>
      event.type === "tool-call-start" && event.payload.callId === "refund.1" ? [event.payload.attempt] : [],
    );
    assert.deepEqual(attempts, [1, 2], "the interrupted attempt was checked, found not applied, and retried");
    assert.equal(
      events.filter((event) => event.type === "node-start" && event.payload.node === "refund").length,
      1,
    );
  });

  test("writes an object into its output text the same whether or not the run was resumed from the store in between", async () => {
    // The store keeps a journaled object's fields in its own order (PostgreSQL's jsonb: shorter names first), so a
    // run that read its state back after a suspend once wrote {"a":2,"zeta":1} where one that never suspended wrote
    // {"zeta":1,"a":2}: a crash or a wait changed the run's answer.
    const pair = defineTool({
      name: "pair",
      description: "Returns an object whose fields are not in the store's order.",
      input: z.object({}),
      async execute() {
        return { zeta: 1, a: 2 };
      },
    });
    const workflow = (paused: boolean) =>
      defineWorkflow({
        name: paused ? "pair-paused" : "pair-straight",
        version: "1.0.0",
        description: "Writes an object, maybe waits, and shows it.",
        owner: { team: "qa" },
        riskTier: 3,
        state: { pair: { type: "object" } },
        start: "make",
        nodes: {
          make: { tool: { name: "pair", args: {} }, writes: "pair", next: paused ? "pause" : "done" },
          ...(paused ? { pause: { wait: { for: "10ms" }, next: "done" } } : {}),
          done: { end: { output: "pair ${state.pair}" } },
        },
        limits: { maxSteps: 5 },
      });
    const answers: (string | null | undefined)[] = [];
    for (const paused of [false, true]) {
      const agent: AgentDefinition = {
        ...scriptedAgent({ name: paused ? "pair-paused" : "pair-straight", turns: [], tools: [pair] }),
        workflow: workflow(paused),
      };
      const { runId, events } = await runToEnd(agent, "{}");
      assert.equal(
        events.some((event) => event.type === "timer-fire"),
        paused,
      );
      answers.push((await store.getRun(runId))?.answer);
    }
    assert.deepEqual(answers, ['pair {"a":2,"zeta":1}', 'pair {"a":2,"zeta":1}']);
  });

  test("a decide node takes only one of its labels, asks again after an answer that is none, then falls back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keel-decide-"));
    writeFileSync(
      join(dir, "route.yaml"),
      [
        "apiVersion: keel/v1",
        "kind: RulesTable",
        "rules:",
        "  - { name: billing, when: { input: 'invoice|charge' }, answer: billing }",
        "  - { name: other, answer: shipping }",
      ].join("\n"),
    );
    const router = defineWorkflow({
      dir,
      name: "router",
      version: "1.0.0",
      description: "Routes a request to a desk.",
      owner: { team: "qa" },
      riskTier: 3,
      model: { provider: "rules", id: "rules" },
      state: { desk: { type: "string" } },
      start: "triage",
      nodes: {
        triage: {
          decide: {
            prompt: "Which desk handles this request?",
            input: "${input}",
            labels: ["billing", "shipping"],
            retries: 1,
            fallback: "person",
            rules: "./route.yaml",
          },
          writes: "desk",
          next: { billing: "billing", shipping: "shipping" },
        },
        billing: { end: { output: "billing desk" } },
        shipping: { end: { output: "shipping desk: ${state.desk}" } },
        person: { end: { output: "a person" } },
      },
    });
    const agent: AgentDefinition = {
      ...scriptedAgent({ name: "router", turns: [], maxSteps: 10 }),
      provider: {
        provider: "none",
        model: "none",
        offline: true,
        generate: () => Promise.reject(new Error("none")),
      },
      workflow: router,
    };
    const billing = await runToEnd(agent, "Why was my card charged twice?");
    assert.equal((await store.getRun(billing.runId))?.answer, "billing desk");
    assert.deepEqual(nodePath(billing.events), ["triage→billing", "billing→end"]);
    const decided = billing.events.filter((event) => event.type === "policy-decision");
    assert.equal(decided.length, 1, "the model call was decided by the governor");
    const shipping = await runToEnd(agent, "Where is my parcel?");
    assert.equal((await store.getRun(shipping.runId))?.answer, "shipping desk: shipping");
    // A model that answers with something that is not a label, twice: one more try, then the fallback.
    const unsureModel = createScriptedModelProvider({
      turns: [
        { kind: "answer", text: "I am not sure" },
        { kind: "answer", text: "I am not sure" },
      ],
    });
    const asked: GenerateOptions[] = [];
    const hosted: AgentDefinition = {
      ...agent,
      provider: {
        ...unsureModel,
        offline: false,
        generate: async (request) => {
          asked.push({ ...request, messages: [...request.messages] });
          return await unsureModel.generate(request);
        },
      },
    };
    const unsure = await runToEnd(hosted, "hmm, not sure what I need");
    assert.equal((await store.getRun(unsure.runId))?.answer, "a person");
    const calls = unsure.events.filter((event) => event.type === "model-call-end");
    assert.equal(calls.length, 2, "one answer, one more try, then the fallback");
    // Each invalid answer is journaled with why, and the next try is shown its answer and told why.
    const why = '"I am not sure" is not one of billing, shipping';
    assert.deepEqual(
      calls.map((event) => event.type === "model-call-end" && event.payload.outputRejection),
      [why, why],
    );
    assert.deepEqual(asked[1]?.messages.slice(1), [
      { role: "assistant", content: "I am not sure" },
      { role: "user", content: outputRejectionMessage(why) },
    ]);
    const end = unsure.events.find((event) => event.type === "node-end" && event.payload.node === "triage");
    assert.equal(end?.type === "node-end" && end.payload.outcome, "failed");
    const message = end?.type === "node-end" ? (end.payload.error?.message ?? "") : "";
    assert.match(
      message,
      /after 2 answers \(last: "I am not sure" is not one of billing, shipping\); going to person/,
    );
  });

  test("a wait node suspends the run holding nothing, and a signal or its durable timer carries it on", async () => {
    const confirmation = defineWorkflow({
      name: "await-payment",
      version: "1.0.0",
      description: "Waits for a payment to be confirmed, or gives up after a while.",
      owner: { team: "qa" },
      riskTier: 3,
      state: { payment: { type: "object" } },
      start: "confirmed",
      nodes: {
        confirmed: {
          wait: { signal: "payment-confirmed", timeout: 800, onTimeout: "late" },
          writes: "payment",
          next: "cool-off",
        },
        "cool-off": { wait: { for: 300 }, next: "done" },
        done: { end: { output: "paid as ${state.payment.ref}" } },
        late: { end: { output: "no confirmation" } },
      },
    });
    const agent: AgentDefinition = {
      ...scriptedAgent({ name: "await-payment", turns: [], maxSteps: 10, runTimeout: 5_000 }),
      workflow: confirmation,
    };
    const governor = await testGovernor([agent]);
    const worker = createWorker({
      store,
      agents: (name) => (name === agent.name ? agent : undefined),
      governor,
      owner: "waits",
    });
    worker.start();
    const until = async (runId: string, status: string) => {
      for (let waited = 0; waited < 10_000; waited += 25) {
        const run = await store.getRun(runId);
        if (run?.status === status) return run;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`run ${runId} never became ${status}`);
    };
    try {
      const { run: signalled } = await startRun({ store, agent, input: "order 7", principal });
      await until(signalled.runId, "suspended");
      const delivered = await sendSignal({
        store,
        runId: signalled.runId,
        name: "payment-confirmed",
        payload: { ref: "PAY-1" },
        by: principal,
      });
      assert.equal(delivered.resumed, true);
      worker.poke();
      const paid = await until(signalled.runId, "completed");
      assert.equal(paid.answer, "paid as PAY-1");
      const events = await store.readEvents({ runId: signalled.runId });
      assert.deepEqual(nodePath(events), ["confirmed→cool-off", "cool-off→done", "done→end"]);
      // The cool-off waited on its durable timer: suspended, fired once by the store, resumed.
      assert.equal(events.filter((event) => event.type === "timer-fire").length, 1);
      assert.equal(events.filter((event) => event.type === "run-suspend").length, 2);

      const { run: unanswered } = await startRun({ store, agent, input: "order 8", principal });
      const late = await until(unanswered.runId, "completed");
      assert.equal(late.answer, "no confirmation");
      const lateEvents = await store.readEvents({ runId: unanswered.runId });
      assert.deepEqual(nodePath(lateEvents), ["confirmed→late", "late→end"]);
      const timedOut = lateEvents.find(
        (event) => event.type === "node-end" && event.payload.node === "confirmed",
      );
      assert.equal(timedOut?.type === "node-end" && timedOut.payload.error?.code, "wait_timeout");
    } finally {
      await worker.stop();
    }
  });
});
