/**
 * Executable scenarios for the OWASP Top 10 for Agentic Applications (2026), three per risk, each stopped by a
 * governor control (docs/security.md lists which): ASI06–ASI10 here, ASI01–ASI05 in owasp-agentic-scenarios.test.ts. Calls go through
 * the real tool node and journal.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createGovernor } from "../src/governance/create-governor.ts";
import type { ActionRequest } from "../src/governance/governor.ts";
import { createMemoryGovernanceStore } from "../src/governance/memory-governance-store.ts";
import { hashPayload } from "../src/journal/hash.ts";
import { verifyChain } from "../src/journal/verify-chain.ts";
import { governedTools } from "../src/runtime/governed-tools.ts";
import { GovernanceSection } from "../src/spec/governance-section.ts";
import { openStore } from "../src/store/open-store.ts";
import type { Store } from "../src/store/store.ts";
import {
  CUSTOMER,
  governedCall,
  SCENARIO_GOVERNANCE,
  SCENARIO_MOVES,
  SCENARIO_TOOLS,
  scenarioAgent,
  scenarioGovernor,
} from "./support/governed-scenario.ts";

let store: Store;
before(async () => {
  store = await openStore({});
});
after(async () => await store.close());

const agent = scenarioAgent();
const { signal, readPii, refund, exfiltrate } = SCENARIO_MOVES;

describe("ASI06 Memory and Context Poisoning", () => {
  test("a tool result claiming it holds no personal data does not clear the run's labels", async () => {
    const governor = await scenarioGovernor([agent], {
      ...SCENARIO_GOVERNANCE,
      decisionAuthority: { autonomous: ["get_order", "send_email"] },
    });
    const poisoned = {
      tool: "get_order",
      result: { dataClasses: [], note: "this data is public" },
      dataClasses: ["internal", "pii"],
    };
    const outcome = await governedCall({
      store,
      agent,
      governor,
      tool: "send_email",
      arguments: exfiltrate,
      before: [poisoned],
    });
    assert.deepEqual(outcome.state.dataClasses, ["internal", "pii"]);
    assert.equal(outcome.decision?.decision, "review");
  });

  test("session state that went missing is a deny, not a clean slate", async () => {
    const outcome = await governedCall({
      store,
      agent,
      governor: await scenarioGovernor([agent]),
      tool: "send_email",
      arguments: exfiltrate,
      before: [readPii],
      damage: (state) => {
        state.dataClasses = undefined as unknown as string[];
      },
    });
    assert.equal(outcome.decision?.code, "missing_session_state");
    assert.equal(outcome.ranTool, false);
  });

  test("labels are rebuilt from the journal on replay, so a resumed run still carries them", async () => {
    const outcome = await governedCall({
      store,
      agent,
      governor: await scenarioGovernor([agent]),
      tool: "search_kb",
      arguments: { query: "x" },
      before: [readPii],
    });
    const { foldEvents } = await import("../src/runtime/run-state.ts");
    assert.deepEqual(foldEvents(outcome.events).dataClasses, ["internal", "pii", "public"]);
  });
});

describe("ASI07 Insecure Inter-Agent Communication", () => {
  const handoff = (target: string): ActionRequest => ({
    kind: "handoff",
    runId: "run_h",
    agent: { name: agent.name, version: agent.version },
    principal: CUSTOMER,
    target,
    dataClasses: ["pii"],
  });

  test("a handoff to another agent is denied unless a policy permits it", async () => {
    const governor = await scenarioGovernor([agent]);
    const decision = await governor.decide(handoff("billing-agent"), { signal });
    assert.equal(decision.decision === "deny" && decision.code, "not_permitted");
  });

  test("a team policy opens exactly one channel, and only without personal data", async () => {
    const governor = await scenarioGovernor([agent], SCENARIO_GOVERNANCE, [
      {
        path: "policies/handoffs.cedar",
        text: `permit(principal == Keel::Agent::"support", action == Keel::Action::"handoff", resource == Keel::Target::"billing-agent")
               unless { context.session.dataClasses.contains("pii") };`,
      },
    ]);
    const clean = { ...handoff("billing-agent"), dataClasses: [] };
    assert.equal((await governor.decide(clean, { signal })).decision, "allow");
    assert.equal((await governor.decide(handoff("billing-agent"), { signal })).decision, "deny");
    assert.equal((await governor.decide({ ...clean, target: "unknown-agent" }, { signal })).decision, "deny");
  });

  test("a token altered on its way to a downstream service does not verify", async () => {
    const governor = await scenarioGovernor([agent]);
    const args = { orderId: 1 };
    const decision = await governor.decide(
      {
        kind: "tool-call",
        runId: "r",
        agent: { name: "support", version: "1.0.0" },
        principal: CUSTOMER,
        tool: { name: "get_order", callId: "c", arguments: args, argumentsHash: hashPayload(args) },
        dataClasses: [],
      },
      { signal },
    );
    assert.ok(decision.decision === "allow");
    const [header, payload, signature] = decision.capability!.split(".");
    const altered = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload!, "base64url").toString()), sub: "admin" }),
    ).toString("base64url");
    const check = await governor.verifyCapability(`${header}.${altered}.${signature}`, {
      runId: "r",
      tool: "get_order",
      callId: "c",
      argumentsHash: hashPayload(args),
    });
    assert.equal(check.ok, false);
  });
});

describe("ASI08 Cascading Failures", () => {
  test("a failing policy engine denies instead of letting calls through", async () => {
    const governor = createGovernor({
      store: createMemoryGovernanceStore(),
      engine: {
        load() {},
        evaluate() {
          throw new Error("engine crashed");
        },
      },
    });
    await governor.load({
      name: "support",
      version: "1.0.0",
      governance: GovernanceSection.parse(SCENARIO_GOVERNANCE),
      tools: governedTools(SCENARIO_TOOLS),
      policyFiles: [],
    });
    const outcome = await governedCall({
      store,
      agent,
      governor,
      tool: "issue_refund",
      arguments: refund(10),
    });
    assert.equal(outcome.ranTool, false);
    assert.equal(outcome.decision?.code, "internal_error");
  });

  test("an outage of the rate-limit store denies instead of removing the limit", async () => {
    const memory = createMemoryGovernanceStore();
    const governor = createGovernor({
      store: { ...memory, takeToken: () => Promise.reject(new Error("ECONNREFUSED")) },
    });
    await governor.load({
      name: "support",
      version: "1.0.0",
      governance: GovernanceSection.parse(SCENARIO_GOVERNANCE),
      tools: governedTools(SCENARIO_TOOLS),
      policyFiles: [],
    });
    const outcome = await governedCall({
      store,
      agent,
      governor,
      tool: "issue_refund",
      arguments: refund(10),
    });
    assert.equal(outcome.decision?.code, "rate_limit_unavailable");
  });

  test("one tenant kill switch stops every agent of that tenant at once, and no other tenant", async () => {
    const other = scenarioAgent("other");
    const governor = await scenarioGovernor([agent, other]);
    await governor.killSwitch.kill({
      scope: "tenant",
      target: "larkspur",
      reason: "incident",
      killedBy: "ops",
    });
    for (const target of [agent, other]) {
      const outcome = await governedCall({
        store,
        agent: target,
        governor,
        tool: "get_order",
        arguments: { orderId: 1 },
      });
      assert.equal(outcome.decision?.code, "killed");
      assert.equal(outcome.state.error?.code, "killed");
    }
    const elsewhere = await governedCall({
      store,
      agent,
      governor,
      tool: "get_order",
      arguments: { orderId: 1 },
      principal: { ...CUSTOMER, tenant: "acme" },
    });
    assert.equal(elsewhere.decision?.decision, "allow");
  });
});

describe("ASI09 Human-Agent Trust Exploitation", () => {
  test("a persuasive model cannot refund 300 on its own word: a person reviews it", async () => {
    const outcome = await governedCall({
      store,
      agent,
      governor: await scenarioGovernor([agent]),
      tool: "issue_refund",
      arguments: refund(300),
    });
    assert.equal(outcome.ranTool, false);
    assert.equal(outcome.state.status, "suspended");
  });

  test("the call held for review is bound to its exact arguments by their hash", async () => {
    const outcome = await governedCall({
      store,
      agent,
      governor: await scenarioGovernor([agent]),
      tool: "issue_refund",
      arguments: refund(300),
    });
    assert.equal(outcome.state.pendingAction?.argumentsHash, hashPayload(refund(300)));
    assert.notEqual(outcome.state.pendingAction?.argumentsHash, hashPayload(refund(30)));
  });

  test("every decision names the agent, the user and its reasons, in a journal whose tampering shows", async () => {
    const outcome = await governedCall({
      store,
      agent,
      governor: await scenarioGovernor([agent]),
      tool: "issue_refund",
      arguments: refund(300),
    });
    assert.deepEqual(outcome.decision?.agent, { name: "support", version: "1.0.0" });
    assert.deepEqual(outcome.decision?.principal, CUSTOMER);
    assert.equal(verifyChain(outcome.events).ok, true);
    const forged = outcome.events.map((event) =>
      event.type === "policy-decision"
        ? { ...event, payload: { ...event.payload, decision: "allow" as const } }
        : event,
    );
    assert.equal(verifyChain(forged).ok, false);
  });
});

describe("ASI10 Rogue Agents", () => {
  test("a kill switch stops a rogue agent: its next action is denied and its run ends as killed", async () => {
    const governor = await scenarioGovernor([agent]);
    await governor.killSwitch.kill({ scope: "agent", target: "support", reason: "rogue", killedBy: "ops" });
    const outcome = await governedCall({
      store,
      agent,
      governor,
      tool: "search_kb",
      arguments: { query: "x" },
    });
    assert.equal(outcome.ranTool, false);
    assert.equal(outcome.state.status, "cancelled");
  });

  test("a kill of everything stops all agents, and resume lets them act again", async () => {
    const governor = await scenarioGovernor([agent]);
    await governor.killSwitch.kill({ scope: "all", target: "*", reason: "breach", killedBy: "ciso" });
    assert.equal(
      (await governedCall({ store, agent, governor, tool: "search_kb", arguments: { query: "x" } })).decision
        ?.code,
      "killed",
    );
    await governor.killSwitch.resume({ scope: "all", target: "*" });
    assert.equal(
      (await governedCall({ store, agent, governor, tool: "search_kb", arguments: { query: "x" } })).decision
        ?.decision,
      "allow",
    );
  });

  test("an agent version that no governor loaded (an unregistered copy) can do nothing", async () => {
    const rogue = scenarioAgent("shadow-copy");
    const outcome = await governedCall({
      store,
      agent: rogue,
      governor: await scenarioGovernor([agent]),
      tool: "search_kb",
      arguments: { query: "x" },
    });
    assert.equal(outcome.decision?.code, "unknown_agent");
    assert.equal(outcome.ranTool, false);
  });
});
