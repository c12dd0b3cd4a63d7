import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import type { JournalEvent } from "../journal/events.ts";
import { verifyChain } from "../journal/verify-chain.ts";
import type { ScriptedTurn } from "../models/scripted-model-provider.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { defineTool } from "../tools/tool.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { startRun } from "./start-run.ts";
import { createWorker } from "./worker.ts";

const principal = { subject: "tester", tenant: "default", roles: [] };

const agentWith = scriptedAgent;

const add = defineTool({
  name: "add",
  description: "Add two numbers.",
  input: z.object({ a: z.number(), b: z.number() }),
  async execute({ a, b }) {
    return { sum: a + b };
  },
});

async function runToEnd(store: Store, agent: AgentDefinition, input = "hello"): Promise<JournalEvent[]> {
  const worker = createWorker({
    store,
    agents: () => agent,
    governor: await testGovernor([agent]),
    owner: `test-${Math.random()}`,
    leaseTtlMs: 2_000,
  });
  const { run } = await startRun({ store, agent, input, principal });
  worker.start();
  try {
    for (;;) {
      const current = await store.getRun(run.runId);
      if (current && ["completed", "failed", "cancelled", "budget_exceeded"].includes(current.status)) break;
      await store.waitForEvents({ runId: run.runId, afterSeq: current?.lastSeq ?? 0, timeoutMs: 200 });
    }
  } finally {
    await worker.stop();
  }
  return await store.readEvents({ runId: run.runId });
}

function types(events: readonly JournalEvent[]): string[] {
  return events.map((event) => event.type);
}

function runEnd(events: readonly JournalEvent[]) {
  const last = events.at(-1);
  assert.ok(last && last.type === "run-end", "the journal ends with run-end");
  return last.payload;
}

describe("the single-agent loop", () => {
  let store: Store;
  before(async () => {
    store = await openStore({});
  });
  after(async () => {
    await store.close();
  });

  test("completes with the model's answer and a verifiable journal", async () => {
    const events = await runToEnd(store, agentWith({ turns: [{ kind: "answer", text: "hi there" }] }));
    assert.deepEqual(types(events), [
      "run-start",
      "step-start",
      "model-call-start",
      "policy-decision",
      "model-call-end",
      "run-end",
    ]);
    assert.deepEqual(runEnd(events), { status: "completed", answer: "hi there", steps: 1 });
    assert.equal(verifyChain(events).ok, true);
  });

  test("runs the tools the model calls and feeds their results back", async () => {
    const agent = agentWith({
      turns: [
        { kind: "tool-calls", calls: [{ callId: "c1", tool: "add", arguments: { a: 2, b: 3 } }] },
        { kind: "answer", text: "five" },
      ],
      tools: [add],
    });
    const events = await runToEnd(store, agent);
    const end = events.find((event) => event.type === "tool-call-end");
    assert.deepEqual(end?.type === "tool-call-end" && end.payload.result, { sum: 5 });
    assert.equal(runEnd(events).status, "completed");
    assert.equal(runEnd(events).steps, 2);
    assert.equal(agent.modelCalls(), 2);
  });

  test("returns invalid tool arguments to the model as a denied tool call, not a crash", async () => {
    const seen: unknown[] = [];
    const agent = agentWith({
      turns: [
        { kind: "tool-calls", calls: [{ callId: "c1", tool: "add", arguments: { a: "two" } }] },
        { kind: "answer", text: "ok" },
      ],
      tools: [add],
    });
    const events = await runToEnd(store, agent);
    for (const event of events) if (event.type === "tool-call-end") seen.push(event.payload.error?.code);
    assert.deepEqual(seen, ["denied"]);
    const decision = events.find(
      (event) => event.type === "policy-decision" && event.payload.action === "tool-call",
    );
    assert.equal(decision?.type === "policy-decision" && decision.payload.code, "invalid_arguments");
    assert.equal(runEnd(events).status, "completed");
  });

  test("tells the model when it calls a tool the agent does not have", async () => {
    const agent = agentWith({
      turns: [
        { kind: "tool-calls", calls: [{ callId: "c1", tool: "rm_rf", arguments: {} }] },
        { kind: "answer", text: "ok" },
      ],
      tools: [add],
    });
    const events = await runToEnd(store, agent);
    const end = events.find((event) => event.type === "tool-call-end");
    assert.equal(end?.type === "tool-call-end" && end.payload.error?.code, "denied");
    assert.match(
      end?.type === "tool-call-end" ? (end.payload.error?.message ?? "") : "",
      /no tool named "rm_rf"/,
    );
    assert.equal(types(events).includes("tool-call-start"), false);
  });

  test("fails the run when the step budget runs out", async () => {
    const loop: ScriptedTurn = {
      kind: "tool-calls",
      calls: [{ callId: "c", tool: "add", arguments: { a: 1, b: 1 } }],
    };
    const agent = agentWith({
      turns: [0, 1, 2].map((index) => ({
        ...loop,
        calls: [{ callId: `c${index}`, tool: "add", arguments: { a: 1, b: 1 } }],
      })),
      tools: [add],
      maxSteps: 3,
    });
    const end = runEnd(await runToEnd(store, agent));
    assert.equal(end.status, "failed");
    assert.equal(end.error?.code, "max_steps_exceeded");
    assert.equal(end.steps, 3);
  });

  test("fails the run with the model's error when the model call fails", async () => {
    const end = runEnd(
      await runToEnd(store, agentWith({ turns: [{ error: { code: "x", message: "provider down" } }] })),
    );
    assert.equal(end.status, "failed");
    assert.deepEqual(end.error, { code: "model_failed", message: "provider down" });
  });

  test("fails a run that passes its timeout, aborting the tool in flight", async () => {
    let aborted = false;
    const hang = defineTool({
      name: "hang",
      description: "Waits for its signal.",
      input: z.object({}),
      async execute(_input, { signal }) {
        await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
        aborted = true;
      },
    });
    const agent = agentWith({
      turns: [{ kind: "tool-calls", calls: [{ callId: "c1", tool: "hang", arguments: {} }] }],
      tools: [hang],
      // The deadline counts from the run's start, so it leaves a loaded machine time to claim the run and reach the
      // tool: a shorter one can pass during the model step, before there is a tool to abort.
      runTimeout: 2_000,
    });
    const events = await runToEnd(store, agent);
    assert.ok(types(events).includes("tool-call-start"), "the tool started before the deadline");
    const end = runEnd(events);
    assert.equal(end.status, "failed");
    assert.equal(end.error?.code, "run_timeout");
    assert.equal(aborted, true);
  });

  test("cancels a run on request, aborting its tool", async () => {
    let started!: () => void;
    const toolStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const hang = defineTool({
      name: "hang",
      description: "Waits for its signal.",
      input: z.object({}),
      async execute(_input, { signal }) {
        started();
        await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
      },
    });
    const agent = agentWith({
      turns: [{ kind: "tool-calls", calls: [{ callId: "c1", tool: "hang", arguments: {} }] }],
      tools: [hang],
    });
    const worker = createWorker({
      store,
      agents: () => agent,
      governor: await testGovernor([agent]),
      owner: "cancel-test",
      leaseTtlMs: 2_000,
    });
    const { run } = await startRun({ store, agent, input: "wait", principal });
    worker.start();
    await toolStarted;
    await store.requestCancel(run.runId, { by: "user:ada" });
    assert.equal(worker.cancel(run.runId, { by: "user:ada" }), true);
    for (let i = 0; i < 50 && (await store.getRun(run.runId))?.status !== "cancelled"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await worker.stop();
    const events = await store.readEvents({ runId: run.runId });
    const toolEnd = events.find((event) => event.type === "tool-call-end");
    assert.equal(toolEnd?.type === "tool-call-end" && toolEnd.payload.error?.code, "cancelled");
    assert.equal(runEnd(events).status, "cancelled");
    assert.deepEqual(events.at(-2)?.payload, { requestedBy: "user:ada" });
  });

  test("cancels a queued run that no worker has started, journaling who asked and why", async () => {
    const agent = agentWith({ turns: [{ kind: "answer", text: "never" }] });
    const { run } = await startRun({ store, agent, input: "hi", principal });
    await store.requestCancel(run.runId, { by: "user:ada", reason: "no longer needed" });
    const worker = createWorker({
      store,
      agents: () => agent,
      governor: await testGovernor([agent]),
      owner: "cancel-queued",
      leaseTtlMs: 2_000,
    });
    worker.start();
    for (let i = 0; i < 100 && (await store.getRun(run.runId))?.status !== "cancelled"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await worker.stop();
    const events = await store.readEvents({ runId: run.runId });
    assert.deepEqual(types(events), ["run-start", "run-cancel", "run-end"]);
    assert.deepEqual(events[1]?.payload, { requestedBy: "user:ada", reason: "no longer needed" });
    assert.equal(runEnd(events).error?.message, "cancelled by user:ada: no longer needed");
    assert.equal(agent.modelCalls(), 0);
  });

  test("fails a run whose agent version no worker serves, saying which", async () => {
    const agent = agentWith({ turns: [{ kind: "answer", text: "x" }], version: "9.9.9" });
    const { run } = await startRun({ store, agent, input: "hi", principal });
    const worker = createWorker({
      store,
      agents: () => undefined,
      governor: await testGovernor([]),
      owner: "no-agents",
      leaseTtlMs: 2_000,
    });
    worker.start();
    for (let i = 0; i < 100 && (await store.getRun(run.runId))?.status !== "failed"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await worker.stop();
    const end = runEnd(await store.readEvents({ runId: run.runId }));
    assert.match(end.error?.message ?? "", /tester@9\.9\.9 is not loaded/);
  });

  test("rejects an empty input with a field error", async () => {
    await assert.rejects(
      startRun({ store, agent: agentWith({ turns: [] }), input: "  ", principal }),
      (error: Error & { issues?: unknown }) => {
        assert.deepEqual(error.issues, [{ path: "input", message: "must not be empty" }]);
        return true;
      },
    );
  });
});
