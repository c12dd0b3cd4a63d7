import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { driveRun } from "../../test/support/drive-run.ts";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import type { Governor } from "../governance/governor.ts";
import type { JournalEvent } from "../journal/events.ts";
import type { ScriptedTurn } from "../models/scripted-model-provider.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { defineTool } from "../tools/tool.ts";
import type { AgentDefinition } from "./agent-definition.ts";

const principal = { subject: "ada", tenant: "acme", roles: ["customer"] };

let store: Store;
before(async () => {
  store = await openStore({});
});
after(async () => await store.close());

/** Drive one run in this process until it settles, with the governor given (none when null). */
async function drive(agent: AgentDefinition, governor: Governor | null) {
  return await driveRun({
    store,
    agent,
    input: "go",
    principal,
    owner: "tool-node-test",
    governor,
    timeoutMs: 10_000,
  });
}

const call = (tool: string, args: unknown, callId = "c1"): ScriptedTurn => ({
  kind: "tool-calls",
  calls: [{ callId, tool, arguments: args }],
});

function toolEnds(events: readonly JournalEvent[]) {
  return events.flatMap((event) => (event.type === "tool-call-end" ? [event.payload] : []));
}

describe("the governed tool node", () => {
  test("hands the tool a capability token that verifies for exactly this call", async () => {
    const seen: { capability?: string; runId: string; callId: string }[] = [];
    const lookup = defineTool({
      name: "lookup",
      description: "Look up.",
      input: z.object({ id: z.string() }),
      async execute(_input, context) {
        seen.push({
          runId: context.runId,
          callId: context.callId,
          ...(context.capability ? { capability: context.capability } : {}),
        });
        return { ok: true };
      },
    });
    const agent = scriptedAgent({
      turns: [call("lookup", { id: "a" }), { kind: "answer", text: "done" }],
      tools: [lookup],
    });
    const governor = await testGovernor([agent]);
    const { events } = await drive(agent, governor);
    const proposal = events.find((event) => event.type === "tool-call-propose");
    assert.ok(proposal?.type === "tool-call-propose");
    const checked = await governor.verifyCapability(seen[0]!.capability!, {
      runId: seen[0]!.runId,
      tool: "lookup",
      callId: "c1",
      argumentsHash: proposal.payload.argumentsHash,
    });
    assert.equal(checked.ok, true);
    const decision = events.find(
      (event) => event.type === "policy-decision" && event.payload.action === "tool-call",
    );
    assert.equal(
      decision?.type === "policy-decision" && decision.payload.capabilityId,
      checked.ok ? checked.id : "",
    );
  });

  test("accumulates the data classes tools return, and the next decision sees them", async () => {
    const readCustomer = defineTool({
      name: "read_customer",
      description: "Read a customer.",
      input: z.object({}),
      dataClasses: ["pii"],
      async execute() {
        return { name: "Ada" };
      },
    });
    const email = defineTool({
      name: "email",
      description: "Send an email.",
      input: z.object({}),
      sendsDataOutside: true,
      async execute() {
        return { sent: true };
      },
    });
    const agent = scriptedAgent({
      turns: [
        call("email", {}, "c1"),
        call("read_customer", {}, "c2"),
        call("email", {}, "c3"),
        { kind: "answer", text: "x" },
      ],
      tools: [readCustomer, email],
    });
    const { state, events } = await drive(agent, await testGovernor([agent]));
    assert.deepEqual(state.dataClasses, ["internal", "pii"]);
    assert.equal(state.status, "suspended");
    const decisions = events.flatMap((event) =>
      event.type === "policy-decision" && event.payload.action === "tool-call"
        ? [[event.payload.target, event.payload.decision]]
        : [],
    );
    assert.deepEqual(decisions, [
      ["email", "allow"],
      ["read_customer", "allow"],
      ["email", "review"],
    ]);
    assert.match(state.pendingAction?.reasons[0] ?? "", /read personal or secret data/);
  });

  test("denies every action when no governor is configured, starting with the model call, and journals why", async () => {
    let ran = false;
    const tool = defineTool({
      name: "t",
      description: "t",
      input: z.object({}),
      async execute() {
        ran = true;
      },
    });
    const agent = scriptedAgent({ turns: [call("t", {}), { kind: "answer", text: "x" }], tools: [tool] });
    const { events } = await drive(agent, null);
    assert.equal(ran, false);
    assert.equal(agent.modelCalls(), 0);
    const decision = events.find((event) => event.type === "policy-decision");
    assert.equal(decision?.type === "policy-decision" && decision.payload.decision, "deny");
    assert.equal(decision?.type === "policy-decision" && decision.payload.code, "internal_error");
    const end = events.at(-1);
    assert.equal(end?.type === "run-end" && end.payload.status, "failed");
  });

  test("denies when the governor throws, and journals the failure", async () => {
    let ran = false;
    const tool = defineTool({
      name: "t",
      description: "t",
      input: z.object({}),
      async execute() {
        ran = true;
      },
    });
    const agent = scriptedAgent({ turns: [call("t", {}), { kind: "answer", text: "x" }], tools: [tool] });
    const inner = await testGovernor([agent]);
    const throwing: Governor = {
      decide: async (request, options) => {
        if (request.kind === "tool-call") throw new Error("policy engine crashed");
        return await inner.decide(request, options);
      },
      verifyCapability: inner.verifyCapability,
    };
    const { events } = await drive(agent, throwing);
    assert.equal(ran, false);
    const decision = events.find(
      (event) => event.type === "policy-decision" && event.payload.action === "tool-call",
    );
    assert.ok(decision?.type === "policy-decision");
    assert.equal(decision.payload.decision, "deny");
    assert.match(decision.payload.reasons[0]!, /policy engine crashed/);
  });

  test("aborts a tool in flight when its agent is killed, and ends the run as killed", async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    let abortedWith: unknown;
    const slow = defineTool({
      name: "slow",
      description: "Waits.",
      input: z.object({}),
      async execute(_input, { signal }) {
        started();
        await new Promise<void>((resolve) =>
          signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        abortedWith = signal.reason;
        throw signal.reason;
      },
    });
    const agent = scriptedAgent({ turns: [call("slow", {}), { kind: "answer", text: "x" }], tools: [slow] });
    const governor = await testGovernor([agent]);
    const driven = drive(agent, governor);
    await running;
    await governor.killSwitch.kill({
      scope: "agent",
      target: agent.name,
      reason: "runaway",
      killedBy: "ops",
    });
    const { events, state } = await driven;
    assert.match(String(abortedWith), /kill switch for agent tester was thrown by ops: runaway/);
    assert.deepEqual(
      toolEnds(events).map((end) => end.error?.code),
      ["killed"],
    );
    assert.equal(state.status, "cancelled");
    assert.equal(state.error?.code, "killed");
  });
});

describe("a side-effecting call that times out", () => {
  function slowTransfer(options: { applied: boolean; reconcile: boolean }) {
    return defineTool({
      name: "transfer",
      description: "Move money; slower than its timeout.",
      input: z.object({ cents: z.number().int() }),
      sideEffect: true,
      timeoutMs: 50,
      async execute() {
        // The effect lands, but only after Keel has stopped waiting.
        await new Promise((resolve) => setTimeout(resolve, 200));
        return { transferred: true };
      },
      ...(options.reconcile
        ? {
            reconcile: async () =>
              options.applied ? { applied: true, result: { transferred: true } } : { applied: false },
          }
        : {}),
    });
  }

  function agentWith(tool: ReturnType<typeof slowTransfer>) {
    return scriptedAgent({
      turns: [call("transfer", { cents: 100 }), { kind: "answer", text: "done" }],
      tools: [tool],
    });
  }

  test("is recorded with the result its reconcile hook found, not as a timeout", async () => {
    const agent = agentWith(slowTransfer({ applied: true, reconcile: true }));
    const { events } = await drive(agent, await testGovernor([agent]));
    const [end] = toolEnds(events);
    assert.deepEqual([end?.outcome, end?.result, end?.reconciled], ["ok", { transferred: true }, true]);
  });

  test("stays a timeout when its reconcile hook finds nothing was applied", async () => {
    const agent = agentWith(slowTransfer({ applied: false, reconcile: true }));
    const { events } = await drive(agent, await testGovernor([agent]));
    assert.equal(toolEnds(events)[0]?.error?.code, "tool_timeout");
  });

  test("without a reconcile hook is in doubt and handed to a person, never reported as failed", async () => {
    const agent = agentWith(slowTransfer({ applied: true, reconcile: false }));
    const { state, events } = await drive(agent, await testGovernor([agent]));
    assert.equal(toolEnds(events)[0]?.error?.code, "in_doubt");
    assert.equal(state.status, "suspended");
    const request = events.find((event) => event.type === "approval-request");
    assert.equal(request?.type === "approval-request" && request.payload.kind, "handoff");
  });
});
