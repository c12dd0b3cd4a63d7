import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { proposedCallEvents } from "../../test/support/proposed-call-events.ts";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { permitAllTools, testGovernor } from "../../test/support/test-governor.ts";
import type { KeelGovernor } from "../governance/create-governor.ts";
import type { JournalEvent, NewEvent } from "../journal/events.ts";
import { hashPayload } from "../journal/hash.ts";
import { verifyChain } from "../journal/verify-chain.ts";
import { GovernanceSection } from "../spec/governance-section.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { defineTool, type ReconcileContext, type Reconciliation } from "../tools/tool.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { governedTools } from "./governed-tools.ts";
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

  function chargingAgent(
    executions: { key: string }[],
    hooks: { reconcile?: (input: unknown, context: ReconcileContext) => Promise<Reconciliation> } = {},
  ) {
    const charge = defineTool({
      name: "charge",
      description: "Charge a card.",
      input: z.object({ cents: z.number().int() }),
      sideEffect: true,
      async execute(_input, { idempotencyKey }) {
        executions.push({ key: idempotencyKey });
        return { ok: true };
      },
      ...(hooks.reconcile ? { reconcile: hooks.reconcile } : {}),
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

  /**
   * Write the journal a worker would have left had it died mid-call (the call decided and started, its rate-limit
   * token taken, no end), then let a fresh worker take over until the run ends or waits.
   */
  async function crashAfter(
    agent: AgentDefinition,
    attemptsStarted: number,
    options: {
      governor?: KeelGovernor;
      beforeResume?: (governor: KeelGovernor) => Promise<void>;
      /** Make the run about a person: its personal fields are stored sealed. */
      subject?: string;
    } = {},
  ) {
    const governor = options.governor ?? (await testGovernor([agent]));
    const { run } = await startRun({
      store,
      agent,
      input: "pay",
      principal,
      ...(options.subject === undefined ? {} : { subject: options.subject }),
    });
    const lease = await store.acquireLease({ runId: run.runId, owner: "dead-worker", ttlMs: 60_000 });
    assert.ok(lease);
    const args = { cents: 500 };
    const events: NewEvent[] = [...proposedCallEvents("charge", args)];
    for (let attempt = 1; attempt <= attemptsStarted; attempt++) {
      if (attempt === 1) {
        // The dead worker's decision: it took the call's rate-limit token, as a real first attempt does.
        const first = await governor.decide(
          {
            kind: "tool-call",
            runId: run.runId,
            agent: { name: agent.name, version: agent.version },
            principal,
            tool: { name: "charge", callId: "c1", arguments: args, argumentsHash: hashPayload(args) },
            dataClasses: [],
          },
          { signal: new AbortController().signal },
        );
        assert.equal(first.decision, "allow");
        if (first.decision === "allow") first.inFlight?.end();
      }
      events.push({
        type: "tool-call-start",
        payload: { step: 1, callId: "c1", tool: "charge", idempotencyKey: `${run.runId}:c1`, attempt },
      });
    }
    await store.append({ lease, events });
    await store.releaseLease(lease);
    await options.beforeResume?.(governor);
    const worker = createWorker({
      store,
      agents: () => agent,
      governor,
      owner: "rescuer",
      leaseTtlMs: 2_000,
    });
    worker.start();
    let status: string | undefined;
    for (let i = 0; i < 500; i++) {
      status = (await store.getRun(run.runId))?.status;
      if (status !== "queued" && status !== "running") break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await worker.stop();
    return { runId: run.runId, status, events: await store.readEvents({ runId: run.runId }) };
  }

  function toolEnd(events: readonly JournalEvent[]) {
    const end = events.find((event) => event.type === "tool-call-end");
    assert.ok(end?.type === "tool-call-end", "the call has an end");
    return end.payload;
  }

  test("a run about a person resumes from its sealed journal: the call is retried once with its real arguments", async () => {
    const executions: { key: string }[] = [];
    const agent = chargingAgent(executions);
    const { runId, status, events } = await crashAfter(agent, 1, { subject: "card-holder" });
    assert.equal(status, "completed");
    // The governor checked the arguments against their hash: it could only allow them read back plain.
    assert.deepEqual(executions, [{ key: `${runId}:c1` }]);
    const propose = events.find((event) => event.type === "tool-call-propose");
    assert.ok(propose?.type === "tool-call-propose");
    assert.deepEqual(propose.payload.arguments, { cents: 500 });
    const stored = await store.readEvents({ runId, asStored: true });
    assert.doesNotMatch(JSON.stringify(stored), /"cents"|"charged"/);
    assert.equal(verifyChain(stored).ok, true);
  });

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

  test("does not start a side-effecting call a third time after two interrupted attempts: it is in doubt and a person checks", async () => {
    const executions: { key: string }[] = [];
    const { status, events } = await crashAfter(chargingAgent(executions), 2);
    assert.deepEqual(executions, []);
    const end = toolEnd(events);
    assert.equal(end.error?.code, "in_doubt");
    assert.match(end.error?.message ?? "", /whether it took effect is unknown/);
    assert.equal(status, "suspended", "the run waits for a person");
    const handoff = events.find((event) => event.type === "approval-request");
    assert.equal(handoff?.type === "approval-request" && handoff.payload.kind, "handoff");
  });

  test("retries a started call under the rate limit it already took, instead of refusing it as over the limit", async () => {
    const executions: { key: string }[] = [];
    const agent = chargingAgent(executions);
    const governor = await testGovernor([agent], {
      governance: { ...permitAllTools(agent), rateLimits: { charge: "1/hour" } },
    });
    const { runId, status, events } = await crashAfter(agent, 1, { governor });
    assert.equal(status, "completed");
    assert.deepEqual(executions, [{ key: `${runId}:c1` }], "the retry ran once, with the same key");
    const decisions = events.filter(
      (event) => event.type === "policy-decision" && event.payload.callId === "c1",
    );
    assert.deepEqual(
      decisions.map(
        (event) => event.type === "policy-decision" && [event.payload.decision, event.payload.retry],
      ),
      [["allow", true]],
    );
    assert.equal(toolEnd(events).outcome, "ok");
  });

  test("a reconcile hook that finds the effect records its result without running the tool again", async () => {
    const executions: { key: string }[] = [];
    const applied = new Map<string, { receipt: number }>();
    const agent = chargingAgent(executions, {
      async reconcile(_input, { idempotencyKey }) {
        const found = applied.get(idempotencyKey);
        return found ? { applied: true, result: found } : { applied: false };
      },
    });
    const { status, events } = await crashAfter(agent, 1, {
      beforeResume: async () => {
        const run = (await store.listRuns({ tenant: "default", limit: 1 })).runs[0]!;
        applied.set(`${run.runId}:c1`, { receipt: 42 });
      },
    });
    assert.equal(status, "completed");
    assert.deepEqual(executions, [], "the effect was found, so the tool did not run again");
    const end = toolEnd(events);
    assert.deepEqual([end.outcome, end.result, end.reconciled], ["ok", { receipt: 42 }, true]);
  });

  test("a started call met by a kill switch on resume ends in doubt, never as denied", async () => {
    const executions: { key: string }[] = [];
    const { status, events } = await crashAfter(chargingAgent(executions), 1, {
      beforeResume: async (governor) => {
        await governor.killSwitch.kill({
          scope: "agent",
          target: "payer",
          reason: "incident 7",
          killedBy: "ops",
        });
      },
    });
    assert.deepEqual(executions, []);
    const end = toolEnd(events);
    assert.equal(end.error?.code, "in_doubt");
    assert.match(end.error?.message ?? "", /not retried because .*incident 7/);
    assert.equal(status, "cancelled");
    assert.ok(
      !events.some((event) => event.type === "tool-call-end" && event.payload.error?.code === "denied"),
    );
  });

  test("a started call that a changed policy now holds for review ends in doubt and is handed to a person", async () => {
    const executions: { key: string }[] = [];
    const agent = chargingAgent(executions);
    const governor = await testGovernor([agent]);
    const { status, events } = await crashAfter(agent, 1, {
      governor,
      beforeResume: async () => {
        // The policy changed while the run was in flight: charges now need a person's review.
        await governor.load({
          name: agent.name,
          version: agent.version,
          governance: GovernanceSection.parse({
            allowedTools: ["charge"],
            decisionAuthority: { requiresHumanReview: ["charge"] },
          }),
          tools: governedTools(agent.tools.values()),
          policyFiles: [],
        });
      },
    });
    assert.deepEqual(executions, []);
    assert.equal(toolEnd(events).error?.code, "in_doubt");
    assert.equal(status, "suspended");
    const request = events.find((event) => event.type === "approval-request");
    assert.equal(request?.type === "approval-request" && request.payload.kind, "handoff");
    assert.match(JSON.stringify(request), /A person will check/);
  });

  test("a side-effecting call that found its effect was not applied is retried and its result journaled as usual", async () => {
    const executions: { key: string }[] = [];
    const agent = chargingAgent(executions, { reconcile: async () => ({ applied: false }) });
    const { status, events } = await crashAfter(agent, 1);
    assert.equal(status, "completed");
    assert.equal(executions.length, 1);
    const end = toolEnd(events);
    assert.equal(end.outcome, "ok");
    assert.equal(end.reconciled, undefined);
  });
});
