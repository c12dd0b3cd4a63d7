import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ApprovalScenario, approvalScenario, approver } from "../../test/support/approval-scenario.ts";
import { isKeelError } from "../errors/keel-error.ts";
import type { KeelStore } from "../store/keel-store.ts";
import { openStore } from "../store/open-store.ts";
import { decideApproval } from "./decide-approval.ts";
import { createApprovalTimer, expireDueApprovals } from "./expire-approvals.ts";

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

const HOUR = 3_600_000;

describe("approval SLAs", () => {
  test("an unanswered request is denied once its SLA passes: the call never runs and the model is told why", async () => {
    const s = await scenario({ approvals: { sla: "2h" } });
    const run = await s.run();
    const [pending] = await store.listApprovals({ runId: run.runId });
    assert.ok(pending);
    assert.equal(pending.expiresAt.getTime() - pending.requestedAt.getTime(), 2 * HOUR);
    const early = await expireDueApprovals({ store, now: () => new Date(Date.now() + HOUR) });
    assert.equal(early.denied.includes(pending.approvalId), false);
    const late = await expireDueApprovals({ store, now: () => new Date(Date.now() + 3 * HOUR) });
    assert.ok(late.denied.includes(pending.approvalId));
    const done = await s.settle(run.runId);
    assert.equal(done.status, "completed");
    assert.equal(s.refunds.length, 0);
    const events = await store.readEvents({ runId: run.runId });
    const expire = events.find((event) => event.type === "approval-expire");
    assert.ok(expire?.type === "approval-expire");
    assert.deepEqual(
      [expire.payload.outcome, expire.payload.expiredAt],
      ["denied", pending.expiresAt.toISOString()],
    );
    const end = events.find((event) => event.type === "tool-call-end");
    assert.ok(end?.type === "tool-call-end");
    assert.equal(end.payload.error?.code, "approval_expired");
    const record = await store.getApproval(pending.approvalId);
    assert.deepEqual([record?.status, record?.decidedBy], ["expired", "system:sla"]);
    await assert.rejects(
      decideApproval({
        store,
        approvalId: pending.approvalId,
        input: { decision: "approve", approver: approver("kim"), argumentsHash: pending.argumentsHash! },
      }),
      (error: unknown) =>
        isKeelError(error, "conflict") && /already expired by system:sla/.test(error.message),
    );
  });

  test("a spec that says escalate moves the request once, urgent, with a new SLA; the next expiry denies", async () => {
    const s = await scenario({
      approvals: { sla: "1h", onTimeout: "escalate", escalateTo: "payments-managers" },
    });
    const run = await s.run();
    const [pending] = await store.listApprovals({ runId: run.runId });
    assert.ok(pending);
    const first = new Date(Date.now() + 2 * HOUR);
    assert.deepEqual(
      await expireDueApprovals({ store, now: () => first }).then((r) =>
        r.escalated.includes(pending.approvalId),
      ),
      true,
    );
    let record = await store.getApproval(pending.approvalId);
    assert.deepEqual(
      [record?.status, record?.routeTo, record?.priority, record?.escalations, record?.expiresAt.getTime()],
      ["pending", "payments-managers", "urgent", 1, first.getTime() + HOUR],
    );
    assert.equal((await store.getRun(run.runId))?.status, "suspended");
    const managers = await store.listApprovals({ status: "pending", routeTo: "payments-managers" });
    assert.ok(managers.some((each) => each.approvalId === pending.approvalId));
    const second = await expireDueApprovals({ store, now: () => new Date(first.getTime() + 2 * HOUR) });
    assert.ok(second.denied.includes(pending.approvalId));
    record = await store.getApproval(pending.approvalId);
    assert.equal(record?.status, "expired");
    await s.settle(run.runId);
    assert.equal(s.refunds.length, 0);
  });

  test("the timer expires due requests on its own", async () => {
    const s = await scenario({ approvals: { sla: 50 } });
    const run = await s.run();
    const timer = createApprovalTimer({ store, intervalMs: 20 });
    timer.start();
    try {
      for (let i = 0; i < 200; i++) {
        const [record] = await store.listApprovals({ runId: run.runId });
        if (record?.status === "expired") break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      await timer.stop();
    }
    const [record] = await store.listApprovals({ runId: run.runId });
    assert.equal(record?.status, "expired");
    assert.equal((await s.settle(run.runId)).status, "completed");
  });
});
