import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  type ApprovalScenario,
  approvalScenario,
  approver,
  customer,
} from "../../test/support/approval-scenario.ts";
import { isKeelError } from "../errors/keel-error.ts";
import type { JournalEvent } from "../journal/events.ts";
import { hashPayload } from "../journal/hash.ts";
import { verifyChain } from "../journal/verify-chain.ts";
import type { KeelStore } from "../store/keel-store.ts";
import { openStore } from "../store/open-store.ts";
import { decideApproval } from "./decide-approval.ts";

const scenarios: ApprovalScenario[] = [];
let store: KeelStore;
before(async () => {
  store = await openStore({});
});
after(async () => {
  for (const scenario of scenarios) await scenario.close();
  await store.close();
});

async function scenario(options: Parameters<typeof approvalScenario>[0] = {}): Promise<ApprovalScenario> {
  const created = await approvalScenario({ ...options, store });
  scenarios.push(created);
  return created;
}

async function pendingOf(s: ApprovalScenario, runId: string) {
  const [pending] = await s.store.listApprovals({ runId, status: "pending" });
  assert.ok(pending, "the run has a pending approval request");
  return pending;
}

async function refusedWith(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isKeelError(error), String(error));
    assert.equal(error.code, code, error.message);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

const types = (events: readonly JournalEvent[]) => events.map((event) => event.type);

describe("approval decisions", () => {
  test("an approval runs the held call once with exactly the approved arguments, and the run completes", async () => {
    const s = await scenario();
    const run = await s.run();
    assert.equal(run.status, "suspended");
    assert.equal(s.refunds.length, 0);
    const pending = await pendingOf(s, run.runId);
    assert.equal(pending.tool, "refund");
    assert.equal(pending.routeTo, "payments-ops");
    assert.equal(pending.requestedBy, customer.subject);
    assert.deepEqual(pending.request.arguments, { orderId: 1017, amount: 281 });
    assert.equal(pending.argumentsHash, hashPayload({ orderId: 1017, amount: 281 }));
    assert.ok(pending.request.reasons.includes("refunds above 100 need a lead"));
    assert.match(pending.request.context.input, /refund order 1017/);

    const outcome = await decideApproval({
      store: s.store,
      approvalId: pending.approvalId,
      input: { decision: "approve", approver: approver("lee"), argumentsHash: pending.argumentsHash! },
    });
    assert.equal(outcome.resumed, true);
    assert.deepEqual(types(outcome.events), ["approval-decision", "run-resume"]);
    const done = await s.settle(run.runId);
    assert.equal(done.status, "completed");
    assert.deepEqual(
      s.refunds.map(({ orderId, amount }) => ({ orderId, amount })),
      [{ orderId: 1017, amount: 281 }],
    );
    const events = await s.store.readEvents({ runId: run.runId });
    assert.equal(verifyChain(events).ok, true);
    const decisions = events.flatMap((event) =>
      event.type === "policy-decision" && event.payload.target === "refund" ? [event.payload] : [],
    );
    assert.deepEqual(
      decisions.map((decision) => decision.decision),
      ["review", "allow"],
    );
    assert.match(
      decisions[1]!.reasons.at(-1)!,
      new RegExp(`approved by lee \\(approval ${pending.approvalId}`),
    );
    // The token the tool received is bound to the approved arguments.
    const check = await s.governor.verifyCapability(s.refunds[0]!.capability!, {
      runId: run.runId,
      tool: "refund",
      callId: "c1",
      argumentsHash: pending.argumentsHash!,
    });
    assert.equal(check.ok, true);
    assert.equal((await s.store.getApproval(pending.approvalId))?.status, "approved");
    // One resume: the worker did not journal a second one for the same wake-up.
    assert.equal(types(events).filter((type) => type === "run-resume").length, 1);
  });

  test("refuses self-approval, approvers without the role, a stale hash and a second decision", async () => {
    const s = await scenario();
    const run = await s.run();
    const pending = await pendingOf(s, run.runId);
    const decide = (input: Parameters<typeof decideApproval>[0]["input"]) =>
      decideApproval({ store: s.store, approvalId: pending.approvalId, input });
    const hash = pending.argumentsHash!;
    await refusedWith(
      decide({
        decision: "approve",
        approver: { ...customer, roles: ["approver:payments"] },
        argumentsHash: hash,
      }),
      "forbidden",
      /separation of duties/,
    );
    await refusedWith(
      decide({
        decision: "approve",
        approver: approver("kim", ["admin", "approver:other-team"]),
        argumentsHash: hash,
      }),
      "forbidden",
      /approver:payments-ops/,
    );
    await refusedWith(
      decide({ decision: "approve", approver: approver("kim"), argumentsHash: "0".repeat(64) }),
      "conflict",
      /changed since you looked/,
    );
    await decide({ decision: "approve", approver: approver("kim"), argumentsHash: hash });
    await refusedWith(
      decide({ decision: "approve", approver: approver("lee"), argumentsHash: hash }),
      "conflict",
      /already approved by kim/,
    );
    await refusedWith(
      decide({ decision: "reject", approver: approver("lee") }),
      "conflict",
      /already approved/,
    );
    await s.settle(run.runId);
    assert.equal(s.refunds.length, 1, "the approved call ran exactly once");
    const events = await s.store.readEvents({ runId: run.runId });
    assert.equal(
      types(events).filter((type) => type === "approval-decision").length,
      1,
      "refusals journal nothing",
    );
  });

  test("an approver's edit is journaled as a new proposal and the approval binds to its hash", async () => {
    const s = await scenario();
    const run = await s.run();
    const pending = await pendingOf(s, run.runId);
    const edited = { orderId: 1017, amount: 150 };
    await refusedWith(
      decideApproval({
        store: s.store,
        approvalId: pending.approvalId,
        input: {
          decision: "approve",
          approver: approver("kim"),
          argumentsHash: pending.argumentsHash!,
          arguments: { orderId: 1017 },
        },
        checkArguments: (_tool, args) =>
          (args as { amount?: number }).amount === undefined ? "amount is required" : null,
      }),
      "invalid_request",
      /amount is required/,
    );
    const outcome = await decideApproval({
      store: s.store,
      approvalId: pending.approvalId,
      input: {
        decision: "approve",
        approver: approver("kim"),
        argumentsHash: pending.argumentsHash!,
        arguments: edited,
        comment: "partial refund",
      },
    });
    assert.deepEqual(types(outcome.events), ["tool-call-propose", "approval-decision", "run-resume"]);
    const [proposal, decision] = outcome.events;
    assert.ok(proposal?.type === "tool-call-propose" && decision?.type === "approval-decision");
    assert.equal(proposal.payload.argumentsHash, hashPayload(edited));
    assert.deepEqual(proposal.payload.revision, {
      approvalId: pending.approvalId,
      by: "kim",
      previousHash: pending.argumentsHash,
    });
    assert.deepEqual(decision.payload.edited, {
      previousHash: pending.argumentsHash,
      argumentsHash: hashPayload(edited),
    });
    await s.settle(run.runId);
    assert.deepEqual(
      s.refunds.map(({ orderId, amount }) => ({ orderId, amount })),
      [edited],
    );
    const check = await s.governor.verifyCapability(s.refunds[0]!.capability!, {
      runId: run.runId,
      tool: "refund",
      callId: "c1",
      argumentsHash: hashPayload(edited),
    });
    assert.equal(check.ok, true, "the token binds to the edited arguments");
    const record = await s.store.getApproval(pending.approvalId);
    assert.deepEqual(
      [record?.status, record?.edited, record?.argumentsHash],
      ["approved", true, hashPayload(edited)],
    );
  });

  test("edited arguments still meet the policies: an edit past what is forbidden is denied, not run", async () => {
    const s = await scenario();
    const run = await s.run();
    const pending = await pendingOf(s, run.runId);
    await decideApproval({
      store: s.store,
      approvalId: pending.approvalId,
      input: {
        decision: "approve",
        approver: approver("kim"),
        argumentsHash: pending.argumentsHash!,
        arguments: { orderId: 1017, amount: 900 },
      },
    });
    const done = await s.settle(run.runId);
    assert.equal(done.status, "completed");
    assert.equal(s.refunds.length, 0);
    const events = await s.store.readEvents({ runId: run.runId });
    const last = events
      .filter((event) => event.type === "policy-decision" && event.payload.target === "refund")
      .at(-1);
    assert.ok(last?.type === "policy-decision");
    assert.deepEqual(
      [last.payload.decision, last.payload.reasons],
      ["deny", ["refunds above 500 go to finance"]],
    );
  });

  test("a tier-1 agent needs two distinct approvers", async () => {
    const s = await scenario({ riskTier: 1 });
    const run = await s.run();
    const pending = await pendingOf(s, run.runId);
    assert.equal(pending.requiredApprovals, 2);
    const hash = pending.argumentsHash!;
    const first = await decideApproval({
      store: s.store,
      approvalId: pending.approvalId,
      input: { decision: "approve", approver: approver("kim"), argumentsHash: hash },
    });
    assert.equal(first.resumed, false);
    assert.equal((await s.store.getRun(run.runId))?.status, "suspended");
    await refusedWith(
      decideApproval({
        store: s.store,
        approvalId: pending.approvalId,
        input: { decision: "approve", approver: approver("kim"), argumentsHash: hash },
      }),
      "conflict",
      /needs 2 distinct approvers/,
    );
    assert.equal(s.refunds.length, 0);
    const second = await decideApproval({
      store: s.store,
      approvalId: pending.approvalId,
      input: { decision: "approve", approver: approver("lee"), argumentsHash: hash },
    });
    assert.equal(second.resumed, true);
    await s.settle(run.runId);
    assert.equal(s.refunds.length, 1);
    assert.deepEqual((await s.store.getApproval(pending.approvalId))?.approvers, ["kim", "lee"]);
  });

  test("the spec's two-person rule for a tool: an edit by the first approver still needs a second", async () => {
    const s = await scenario({ approvals: { twoPersonRule: ["refund"] } });
    const run = await s.run();
    const pending = await pendingOf(s, run.runId);
    assert.equal(pending.requiredApprovals, 2);
    const edited = { orderId: 1017, amount: 200 };
    await decideApproval({
      store: s.store,
      approvalId: pending.approvalId,
      input: {
        decision: "approve",
        approver: approver("kim"),
        argumentsHash: pending.argumentsHash!,
        arguments: edited,
      },
    });
    await refusedWith(
      decideApproval({
        store: s.store,
        approvalId: pending.approvalId,
        input: { decision: "approve", approver: approver("lee"), argumentsHash: pending.argumentsHash! },
      }),
      "conflict",
      /arguments changed/,
    );
    const done = await decideApproval({
      store: s.store,
      approvalId: pending.approvalId,
      input: { decision: "approve", approver: approver("lee"), argumentsHash: hashPayload(edited) },
    });
    assert.equal(done.resumed, true);
    await s.settle(run.runId);
    assert.deepEqual(
      s.refunds.map(({ amount }) => amount),
      [200],
    );
  });

  test("a rejection tells the model why, the call never runs, and the run goes on", async () => {
    const s = await scenario();
    const run = await s.run();
    const pending = await pendingOf(s, run.runId);
    const outcome = await decideApproval({
      store: s.store,
      approvalId: pending.approvalId,
      input: { decision: "reject", approver: approver("kim"), comment: "order was already refunded" },
    });
    assert.deepEqual(types(outcome.events), ["approval-decision", "tool-call-end", "run-resume"]);
    const done = await s.settle(run.runId);
    assert.equal(done.status, "completed");
    assert.equal(s.refunds.length, 0);
    const end = outcome.events[1];
    assert.ok(end?.type === "tool-call-end");
    assert.equal(end.payload.error?.code, "rejected");
    assert.match(
      end.payload.error?.message ?? "",
      /kim \(payments-ops\) reviewed this call and rejected it: order was already refunded/,
    );
  });

  test("a resumed run gets back the time it had left when it suspended", async () => {
    const s = await scenario();
    const run = await s.run();
    const pending = await pendingOf(s, run.runId);
    const later = new Date(Date.now() + 3 * 86_400_000);
    const outcome = await decideApproval({
      store: s.store,
      approvalId: pending.approvalId,
      input: { decision: "approve", approver: approver("kim"), argumentsHash: pending.argumentsHash! },
      now: () => later,
    });
    const resume = outcome.events.at(-1);
    assert.ok(resume?.type === "run-resume");
    const deadline = Date.parse(resume.payload.deadlineAt!);
    assert.ok(
      deadline > later.getTime() + 20_000 && deadline <= later.getTime() + 30_000 + 1_000,
      String(resume.payload.deadlineAt),
    );
  });
});
