import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { z } from "zod";
import { hashPayload } from "../journal/hash.ts";
import { createGovernor, type KeelGovernor } from "./create-governor.ts";
import {
  FIXTURE_PRINCIPAL,
  fixtureAgent,
  fixtureTool,
  SUPPORT_GOVERNANCE,
  toolRequest,
} from "./governance-test-fixtures.ts";
import type { ActionRequest, PolicyDecision } from "./governor.ts";
import { createMemoryGovernanceStore } from "./memory-governance-store.ts";

const signal = new AbortController().signal;

async function governorFor(...agents: Parameters<typeof fixtureAgent>[0][]): Promise<KeelGovernor> {
  const governor = createGovernor({ store: createMemoryGovernanceStore() });
  for (const agent of agents.length > 0 ? agents : [{}]) await governor.load(fixtureAgent(agent));
  return governor;
}

function summary(decision: PolicyDecision) {
  return {
    decision: decision.decision,
    ...(decision.decision === "deny" ? { code: decision.code } : {}),
    policies: decision.policies,
  };
}

const refund = (amount: unknown) => toolRequest("issue_refund", { orderId: 1042, amount, reason: "broken" });

describe("the governor's decision order", () => {
  test("allows a refund of 96.00, holds 100.01 to 500 for review, forbids more than 500", async () => {
    const governor = await governorFor();
    const decisions = await Promise.all(
      ["96.00", 100, "100.01", 500, "500.01", 10_000].map(async (amount) =>
        summary(await governor.decide(refund(amount), { signal })),
      ),
    );
    assert.deepEqual(
      decisions.map((decision) => decision.decision),
      ["allow", "allow", "review", "review", "deny", "deny"],
    );
    assert.deepEqual(decisions[4], {
      decision: "deny",
      code: "forbidden",
      policies: ["governance.decisionAuthority.forbidden[0]"],
    });
  });

  test("reads an amount it cannot compare as the restrictive case: forbidden", async () => {
    const governor = await governorFor();
    for (const amount of ["lots", "1e3", 100.000001]) {
      const decision = await governor.decide(refund(amount), { signal });
      assert.equal(decision.decision, "deny", String(amount));
    }
  });

  test("forbid wins over review, and review over permit", async () => {
    const governor = await governorFor({
      policyFiles: [
        {
          path: "policies/extra.cedar",
          mode: "enforce",
          text: `@id("review-all-refunds") @review("every refund is reviewed this week")
forbid(principal, action == Keel::Action::"tool:issue_refund", resource);`,
        },
      ],
    });
    assert.deepEqual(summary(await governor.decide(refund(5), { signal })), {
      decision: "review",
      policies: ["policies/extra.cedar#review-all-refunds"],
    });
    assert.equal((await governor.decide(refund(900), { signal })).decision, "deny");
  });

  test("denies a tool that no policy permits, and everything when there are no policies", async () => {
    const notAllowed = await governorFor({
      governance: {
        ...SUPPORT_GOVERNANCE,
        allowedTools: ["search_kb"],
        decisionAuthority: { autonomous: ["search_kb"] },
      },
    });
    assert.deepEqual(summary(await notAllowed.decide(refund(5), { signal })), {
      decision: "deny",
      code: "not_permitted",
      policies: [],
    });
    const none = await governorFor({ governance: null });
    const decision = await none.decide(toolRequest("search_kb", { query: "x" }), { signal });
    assert.deepEqual(summary(decision), { decision: "deny", code: "no_policies", policies: [] });
  });

  test("puts an allowed tool that no tier lists under review", async () => {
    const governor = await governorFor({ governance: { allowedTools: ["create_ticket"] } });
    const decision = await governor.decide(toolRequest("create_ticket", { subject: "a", body: "b" }), {
      signal,
    });
    assert.deepEqual(summary(decision), {
      decision: "review",
      policies: ["decision-authority:unlisted:create_ticket"],
    });
  });

  test("makes a conditional autonomous entry review outside its condition", async () => {
    const governor = await governorFor({
      governance: {
        allowedTools: ["issue_refund"],
        decisionAuthority: { autonomous: [{ tool: "issue_refund", when: "input.amount <= 20" }] },
        dataAccess: { allowFinancial: true },
      },
    });
    assert.equal((await governor.decide(refund("20.00"), { signal })).decision, "allow");
    assert.equal((await governor.decide(refund("20.01"), { signal })).decision, "review");
    assert.equal((await governor.decide(refund("twenty"), { signal })).decision, "review");
  });
});

describe("data classes", () => {
  test("denies a PII tool to an agent not granted PII, and a financial tool without allowFinancial", async () => {
    const governor = await governorFor({ governance: { ...SUPPORT_GOVERNANCE, dataAccess: {} } });
    const order = await governor.decide(toolRequest("get_order", { orderId: 1 }), { signal });
    assert.deepEqual(summary(order), {
      decision: "deny",
      code: "forbidden",
      policies: ["governance.dataAccess.allowPii"],
    });
    assert.match(order.reasons[0]!, /not granted personal data/);
    const money = await governor.decide(refund(5), { signal });
    assert.deepEqual(money.policies, ["governance.dataAccess.allowFinancial"]);
  });

  test("holds an outside send for review once the run has read PII", async () => {
    const governor = await governorFor({
      governance: {
        ...SUPPORT_GOVERNANCE,
        decisionAuthority: { autonomous: ["send_email", "get_order", "search_kb"] },
      },
    });
    const email = { to: "a@example.com", subject: "s", body: "b" };
    assert.equal((await governor.decide(toolRequest("send_email", email), { signal })).decision, "allow");
    const afterPii = await governor.decide(
      toolRequest("send_email", email, { dataClasses: ["internal", "pii"] }),
      { signal },
    );
    assert.deepEqual(summary(afterPii), {
      decision: "review",
      policies: ["data-egress:after-sensitive-data"],
    });
  });

  test("caps the records one call may ask for", async () => {
    const governor = await governorFor();
    assert.equal(
      (await governor.decide(toolRequest("search_kb", { query: "q", limit: 5 }), { signal })).decision,
      "allow",
    );
    assert.equal(
      (await governor.decide(toolRequest("search_kb", { query: "q", limit: 6 }), { signal })).decision,
      "deny",
    );
  });
});

describe("delegated authority", () => {
  const delegated = {
    ...SUPPORT_GOVERNANCE,
    delegation: { roles: { support: ["*"], customer: ["search_kb", "get_order"] } },
  };

  test("permits only what both the agent and the user may do", async () => {
    const governor = await governorFor({ governance: delegated });
    const customer = { ...FIXTURE_PRINCIPAL, roles: ["customer"] };
    const support = { ...FIXTURE_PRINCIPAL, roles: ["support"] };
    const nobody = { ...FIXTURE_PRINCIPAL, roles: [] };
    const order = (principal: typeof customer) => toolRequest("get_order", { orderId: 1 }, { principal });
    const money = (principal: typeof customer) =>
      toolRequest("issue_refund", { orderId: 1, amount: 5, reason: "r" }, { principal });
    assert.equal((await governor.decide(order(customer), { signal })).decision, "allow");
    assert.equal((await governor.decide(money(support), { signal })).decision, "allow");
    const refused = await governor.decide(money(customer), { signal });
    assert.deepEqual(summary(refused), { decision: "deny", code: "not_permitted", policies: [] });
    assert.match(refused.reasons[0]!, /no policy permits the user ada@example.com to call issue_refund/);
    assert.equal((await governor.decide(order(nobody), { signal })).decision, "deny");
    // The user's role never widens the agent's authority: the agent still may not refund above 500.
    assert.equal(
      (
        await governor.decide(
          toolRequest("issue_refund", { orderId: 1, amount: 900, reason: "r" }, { principal: support }),
          { signal },
        )
      ).decision,
      "deny",
    );
  });

  test("lets a team policy forbid on the user side", async () => {
    const governor = await governorFor({
      policyFiles: [
        {
          path: "policies/tenants.cedar",
          mode: "enforce",
          text: `@id("no-trial-refunds") @reason("trial tenants cannot get refunds")
forbid(principal in Keel::Tenant::"trial", action == Keel::Action::"tool:issue_refund", resource);`,
        },
      ],
    });
    const trial = { ...FIXTURE_PRINCIPAL, tenant: "trial" };
    const decision = await governor.decide(
      toolRequest("issue_refund", { orderId: 1, amount: 5, reason: "r" }, { principal: trial }),
      { signal },
    );
    assert.deepEqual(decision.reasons, ["trial tenants cannot get refunds"]);
  });
});

describe("shadow policies and reload", () => {
  test("records what a shadow policy would have changed without enforcing it", async () => {
    const governor = await governorFor({
      policyFiles: [
        {
          path: "policies/strict.cedar",
          mode: "shadow",
          text: `@id("no-refunds") forbid(principal, action == Keel::Action::"tool:issue_refund", resource);`,
        },
      ],
    });
    const decision = await governor.decide(refund(5), { signal });
    assert.equal(decision.decision, "allow");
    assert.deepEqual(decision.shadow, {
      decision: "deny",
      policies: ["policies/strict.cedar#no-refunds"],
      reasons: ["forbid policy policies/strict.cedar#no-refunds"],
    });
    const unaffected = await governor.decide(toolRequest("get_order", { orderId: 1 }), { signal });
    assert.equal(unaffected.shadow, undefined);
  });

  test("swaps policies atomically on reload: every decision sees the old set or the new, never an error", async () => {
    const governor = await governorFor();
    const strict = fixtureAgent({
      governance: {
        ...SUPPORT_GOVERNANCE,
        decisionAuthority: { ...SUPPORT_GOVERNANCE.decisionAuthority, forbidden: [{ tool: "issue_refund" }] },
      },
    });
    const lenient = fixtureAgent();
    const outcomes = new Set<string>();
    const decisions: Promise<void>[] = [];
    for (let round = 0; round < 40; round++) {
      for (let index = 0; index < 25; index++) {
        decisions.push(
          governor.decide(refund(5), { signal }).then((decision) => {
            outcomes.add(decision.decision === "deny" ? `deny:${decision.code}` : decision.decision);
            if (decision.decision === "allow") decision.inFlight?.end();
          }),
        );
      }
      await governor.load(round % 2 === 0 ? strict : lenient);
    }
    await Promise.all(decisions);
    assert.deepEqual([...outcomes].sort(), ["allow", "deny:forbidden"]);
  });
});

describe("capability tokens", () => {
  test("issues a token bound to the run, call, tool and arguments that verifies once and only for them", async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const governor = createGovernor({ store: createMemoryGovernanceStore(), now: () => now });
    await governor.load(fixtureAgent({ governance: { ...SUPPORT_GOVERNANCE, capabilityTtl: "2m" } }));
    const request = refund(5) as ActionRequest & { tool: NonNullable<ActionRequest["tool"]> };
    const decision = await governor.decide(request, { signal });
    assert.equal(decision.decision, "allow");
    const token = decision.decision === "allow" ? decision.capability! : "";
    const binding = {
      runId: "run_test",
      tool: "issue_refund",
      callId: "call_1",
      argumentsHash: request.tool.argumentsHash,
    };
    const checked = await governor.verifyCapability(token, binding);
    assert.equal(checked.ok, true);
    assert.equal(checked.ok && checked.id, decision.decision === "allow" ? decision.capabilityId : "");
    assert.equal(checked.ok && checked.subject, "ada@example.com");
    assert.equal(checked.ok && checked.agent, "support@1.0.0");

    for (const [field, value] of [
      ["runId", "run_other"],
      ["callId", "call_2"],
      ["argumentsHash", hashPayload({ amount: 6 })],
    ] as const) {
      const other = await governor.verifyCapability(token, { ...binding, [field]: value });
      assert.equal(other.ok, false, field);
    }
    const wrongTool = await governor.verifyCapability(token, { ...binding, tool: "send_email" });
    assert.equal(wrongTool.ok, false);

    const [header, payload, signature] = token.split(".");
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, "base64url").toString()), args: "0".repeat(64) })).toString("base64url")}.${signature}`;
    const altered = await governor.verifyCapability(tampered, binding);
    assert.deepEqual(
      altered.ok ? null : altered.reason,
      "the token's signature does not verify (it was altered or signed by another key)",
    );

    now += 121_000;
    const expired = await governor.verifyCapability(token, binding);
    assert.deepEqual(expired.ok ? null : expired.reason, "the token has expired");
  });

  test("refuses a revoked token at once, and every token of a revoked run or key", async () => {
    const governor = await governorFor();
    const issue = async (callId: string) => {
      const request = toolRequest("get_order", { orderId: 1 }, { callId });
      const decision = await governor.decide(request, { signal });
      assert.equal(decision.decision, "allow");
      const binding = {
        runId: "run_test",
        tool: "get_order",
        callId,
        argumentsHash: request.tool!.argumentsHash,
      };
      return {
        token: decision.decision === "allow" ? decision.capability! : "",
        id: decision.decision === "allow" ? decision.capabilityId! : "",
        binding,
      };
    };
    const first = await issue("c1");
    await governor.revocations.revokeToken(first.id);
    assert.deepEqual(await governor.verifyCapability(first.token, first.binding), {
      ok: false,
      reason: "the token has been revoked",
    });
    const second = await issue("c2");
    assert.equal((await governor.verifyCapability(second.token, second.binding)).ok, true);
    await governor.revocations.revokeRun("run_test");
    assert.equal((await governor.verifyCapability(second.token, second.binding)).ok, false);
    const third = await issue("c3");
    await governor.identities.revoke("support", "1.0.0");
    const afterKey = await governor.verifyCapability(third.token, { ...third.binding });
    assert.match(afterKey.ok ? "" : afterKey.reason, /unknown or revoked/);
    const noIdentity = await governor.decide(toolRequest("get_order", { orderId: 1 }), { signal });
    assert.equal(noIdentity.decision === "deny" && noIdentity.code, "no_identity");
  });
});

describe("rate limits", () => {
  test("refills a token bucket per agent, tool, tenant and user", async () => {
    let now = 0;
    const governor = createGovernor({ store: createMemoryGovernanceStore(), now: () => now });
    await governor.load(
      fixtureAgent({ governance: { ...SUPPORT_GOVERNANCE, rateLimits: { get_order: "2/minute" } } }),
    );
    const order = (subject: string) =>
      toolRequest("get_order", { orderId: 1 }, { principal: { ...FIXTURE_PRINCIPAL, subject } });
    const outcomes = async (subject: string, count: number) => {
      const results: string[] = [];
      for (let index = 0; index < count; index++) {
        const decision = await governor.decide(order(subject), { signal });
        results.push(decision.decision === "deny" ? decision.code : decision.decision);
      }
      return results;
    };
    assert.deepEqual(await outcomes("ada", 3), ["allow", "allow", "rate_limited"]);
    assert.deepEqual(await outcomes("grace", 1), ["allow"]);
    now += 30_000;
    assert.deepEqual(await outcomes("ada", 2), ["allow", "rate_limited"]);
  });

  test("denies when the rate-limit store is down", async () => {
    const store = createMemoryGovernanceStore();
    const governor = createGovernor({
      store: { ...store, takeToken: () => Promise.reject(new Error("connection refused")) },
    });
    await governor.load(
      fixtureAgent({ governance: { ...SUPPORT_GOVERNANCE, rateLimits: { "*": "100/second" } } }),
    );
    const decision = await governor.decide(toolRequest("get_order", { orderId: 1 }), { signal });
    assert.equal(decision.decision === "deny" && decision.code, "rate_limit_unavailable");
  });
});

describe("the kill switch", () => {
  test("denies before any policy, aborts in-flight calls, and lifts on resume", async () => {
    const governor = await governorFor({}, { name: "other" });
    const running = await governor.decide(toolRequest("get_order", { orderId: 1 }), { signal });
    assert.equal(running.decision, "allow");
    const inFlight = running.decision === "allow" ? running.inFlight! : null;
    await governor.killSwitch.kill({
      scope: "agent",
      target: "support",
      reason: "runaway refunds",
      killedBy: "ops",
    });
    assert.equal(inFlight?.signal.aborted, true);
    assert.match(
      String(inFlight?.signal.reason),
      /kill switch for agent support was thrown by ops: runaway refunds/,
    );
    const after = await governor.decide(toolRequest("get_order", { orderId: 1 }), { signal });
    assert.deepEqual(
      [after.decision, after.decision === "deny" && after.code, after.stage],
      ["deny", "killed", "kill-switch"],
    );
    const other = await governor.decide(toolRequest("get_order", { orderId: 1 }, { agent: "other" }), {
      signal,
    });
    assert.equal(other.decision, "allow");
    assert.equal(await governor.killSwitch.resume({ scope: "agent", target: "support" }), true);
    assert.equal(
      (await governor.decide(toolRequest("get_order", { orderId: 1 }), { signal })).decision,
      "allow",
    );
  });

  test("covers a tenant, and everything", async () => {
    const governor = await governorFor();
    await governor.killSwitch.kill({ scope: "tenant", target: "acme", reason: "r", killedBy: "ops" });
    assert.equal(
      (await governor.decide(toolRequest("get_order", { orderId: 1 }), { signal })).decision,
      "deny",
    );
    const otherTenant = toolRequest(
      "get_order",
      { orderId: 1 },
      { principal: { ...FIXTURE_PRINCIPAL, tenant: "globex" } },
    );
    assert.equal((await governor.decide(otherTenant, { signal })).decision, "allow");
    await governor.killSwitch.kill({ scope: "all", target: "*", reason: "r", killedBy: "ops" });
    assert.equal((await governor.decide(otherTenant, { signal })).decision, "deny");
  });

  test("a kill of an agent above a child run denies the child's actions and aborts those in flight; others go on", async () => {
    const governor = await governorFor();
    const child = { ...toolRequest("get_order", { orderId: 1 }), ancestors: ["review", "coordinator"] };
    const running = await governor.decide(child, { signal });
    assert.equal(running.decision, "allow");
    const inFlight = running.decision === "allow" ? running.inFlight! : null;
    await governor.killSwitch.kill({ scope: "agent", target: "elsewhere", reason: "r", killedBy: "ops" });
    assert.equal(inFlight?.signal.aborted, false, "a kill of an agent not above the run leaves it alone");
    await governor.killSwitch.kill({ scope: "agent", target: "coordinator", reason: "r", killedBy: "ops" });
    assert.equal(inFlight?.signal.aborted, true);
    const after = await governor.decide(child, { signal });
    assert.deepEqual([after.decision, after.decision === "deny" && after.code], ["deny", "killed"]);
    const topLevel = await governor.decide(toolRequest("get_order", { orderId: 1 }), { signal });
    assert.equal(topLevel.decision, "allow", "the same agent's runs under no killed agent go on");
  });

  test("learns of a kill thrown by another process on refresh", async () => {
    const store = createMemoryGovernanceStore();
    const here = createGovernor({ store });
    const there = createGovernor({ store });
    await here.load(fixtureAgent());
    await there.killSwitch.kill({ scope: "agent", target: "support", reason: "r", killedBy: "ops" });
    assert.equal((await here.decide(toolRequest("get_order", { orderId: 1 }), { signal })).decision, "allow");
    await here.refresh();
    assert.equal((await here.decide(toolRequest("get_order", { orderId: 1 }), { signal })).decision, "deny");
  });
});

describe("model calls", () => {
  test("permits the agent's model calls and denies them to an agent without policies", async () => {
    const governor = await governorFor({}, { name: "bare", governance: null });
    const request = (name: string): ActionRequest => ({
      kind: "model-call",
      runId: "run_1",
      agent: { name, version: "1.0.0" },
      principal: FIXTURE_PRINCIPAL,
      model: { provider: "anthropic", id: "claude-sonnet-4-5-20250929" },
      dataClasses: [],
    });
    assert.equal((await governor.decide(request("support"), { signal })).decision, "allow");
    assert.equal((await governor.decide(request("bare"), { signal })).decision, "deny");
  });
});

test("a tool's own argument schema is checked before policies", async () => {
  const governor = await governorFor({
    tools: [fixtureTool({ name: "search_kb", input: z.strictObject({ query: z.string().min(1) }) })],
    governance: { allowedTools: ["search_kb"], decisionAuthority: { autonomous: ["search_kb"] } },
  });
  const decision = await governor.decide(toolRequest("search_kb", { query: "" }), { signal });
  assert.deepEqual(summary(decision), { decision: "deny", code: "invalid_arguments", policies: [] });
});
