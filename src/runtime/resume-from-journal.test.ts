import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import type { NewEvent } from "../journal/events.ts";
import { hashPayload } from "../journal/hash.ts";
import { verifyChain } from "../journal/verify-chain.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { defineTool } from "../tools/tool.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { startRun } from "./start-run.ts";
import { createWorker } from "./worker.ts";

const principal = { subject: "tester", tenant: "default", roles: [] };

describe("resuming a run from its journal", () => {
  let store: Store;
  before(async () => {
    store = await openStore({});
  });
  after(async () => {
    await store.close();
  });

  function chargingAgent(executions: { key: string }[]) {
    const charge = defineTool({
      name: "charge",
      description: "Charge a card.",
      input: z.object({ cents: z.number().int() }),
      sideEffect: true,
      async execute(_input, { idempotencyKey }) {
        executions.push({ key: idempotencyKey });
        return { ok: true };
      },
    });
    return scriptedAgent({
      name: "payer",
      turns: [
        { kind: "tool-calls", calls: [{ callId: "c1", tool: "charge", arguments: { cents: 500 } }] },
        { kind: "answer", text: "charged" },
      ],
      tools: [charge],
    });
  }

  /** Write the journal a worker would have left had it died mid-call, then let a fresh worker take over. */
  async function crashAfter(agent: AgentDefinition, attemptsStarted: number) {
    const { run } = await startRun({ store, agent, input: "pay", principal });
    const lease = await store.acquireLease({ runId: run.runId, owner: "dead-worker", ttlMs: 60_000 });
    assert.ok(lease);
    const args = { cents: 500 };
    const events: NewEvent[] = [
      { type: "step-start", payload: { step: 1, node: "model" } },
      {
        type: "model-call-start",
        payload: { step: 1, provider: "scripted", model: "scripted", offline: true },
      },
      {
        type: "model-call-end",
        payload: {
          step: 1,
          provider: "scripted",
          model: "scripted",
          outcome: "ok",
          decision: { kind: "tool-calls", calls: [{ callId: "c1", tool: "charge", arguments: args }] },
          usage: { inputTokens: 0, outputTokens: 0 },
          durationMs: 1,
        },
      },
      {
        type: "tool-call-propose",
        payload: { step: 1, callId: "c1", tool: "charge", arguments: args, argumentsHash: hashPayload(args) },
      },
    ];
    for (let attempt = 1; attempt <= attemptsStarted; attempt++) {
      events.push({
        type: "tool-call-start",
        payload: { step: 1, callId: "c1", tool: "charge", idempotencyKey: `${run.runId}:c1`, attempt },
      });
    }
    await store.append({ lease, events });
    await store.releaseLease(lease);
    const worker = createWorker({
      store,
      agents: () => agent,
      governor: await testGovernor([agent]),
      owner: "rescuer",
      leaseTtlMs: 2_000,
    });
    worker.start();
    for (let i = 0; i < 200; i++) {
      const current = await store.getRun(run.runId);
      if (current?.status === "completed" || current?.status === "failed") break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await worker.stop();
    return { runId: run.runId, events: await store.readEvents({ runId: run.runId }) };
  }

  test("retries a side-effecting call that started but never ended, once, with the same idempotency key", async () => {
    const executions: { key: string }[] = [];
    const agent = chargingAgent(executions);
    const { runId, events } = await crashAfter(agent, 1);
    assert.deepEqual(executions, [{ key: `${runId}:c1` }]);
    const starts = events.filter((event) => event.type === "tool-call-start");
    assert.deepEqual(
      starts.map(
        (event) => event.type === "tool-call-start" && [event.payload.attempt, event.payload.idempotencyKey],
      ),
      [
        [1, `${runId}:c1`],
        [2, `${runId}:c1`],
      ],
    );
    assert.equal(agent.modelCalls(), 1, "the recorded model turn is replayed, not asked again");
    assert.ok(events.some((event) => event.type === "run-resume"));
    const last = events.at(-1);
    assert.equal(last?.type === "run-end" && last.payload.status, "completed");
    assert.equal(verifyChain(events).ok, true);
  });

  test("does not start a call a third time after two interrupted attempts", async () => {
    const executions: { key: string }[] = [];
    const { events } = await crashAfter(chargingAgent(executions), 2);
    assert.deepEqual(executions, []);
    const end = events.find((event) => event.type === "tool-call-end");
    assert.equal(end?.type === "tool-call-end" && end.payload.error?.code, "interrupted");
  });
});
