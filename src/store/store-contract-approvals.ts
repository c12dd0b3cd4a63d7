import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { NewEvent, PayloadOf } from "../journal/index.ts";
import type { Lease } from "./store.ts";
import {
  createQueuedRun,
  rejectsWithCode,
  type StoreContractContext,
  stepStart,
  uniqueName,
} from "./store-contract-fixtures.ts";

/** A valid approval-request payload for a run of `agent`. */
export function approvalRequest(
  agent: string,
  overrides: Partial<PayloadOf<"approval-request">> = {},
): PayloadOf<"approval-request"> {
  const now = Date.now();
  return {
    approvalId: uniqueName("apr"),
    kind: "tool-call",
    summary: "issue_refund {orderId: 1017, amount: 281.00}",
    reasons: ["refunds above 100 need a support lead"],
    policies: ["governance.decisionAuthority.requiresHumanReview[1]"],
    callId: "c1",
    tool: "issue_refund",
    arguments: { orderId: 1017, amount: "281.00" },
    argumentsHash: "a".repeat(64),
    context: {
      agent,
      agentVersion: "1.0.0",
      input: "refund order 1017",
      step: 2,
      principal: { subject: "user:ada", tenant: "default", roles: [] },
      dataClasses: ["internal"],
      recent: [],
    },
    requestedBy: "user:ada",
    routeTo: "support-leads",
    priority: "normal",
    requiredApprovals: 1,
    approverRoles: [`approver:${agent}`],
    requestedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 3_600_000).toISOString(),
    onTimeout: "deny",
    ...overrides,
  };
}

const by = (subject: string) => ({ subject, tenant: "default", roles: ["approver"] });

/** Contract tests for the approvals queue: the projection of approval events, written with the events. */
export function approvalsContract(context: StoreContractContext): void {
  describe("approvals", () => {
    async function suspendedWithRequest(
      overrides: Partial<PayloadOf<"approval-request">> = {},
    ): Promise<{ runId: string; agent: string; request: PayloadOf<"approval-request">; lease: Lease }> {
      const { store } = context;
      const agent = uniqueName("agent");
      const run = await createQueuedRun(store, agent);
      const lease = (await store.acquireLease({ runId: run.runId, owner: "w", ttlMs: 30_000 }))!;
      const request = approvalRequest(agent, overrides);
      await store.append({
        lease,
        events: [
          stepStart(1),
          { type: "approval-request", payload: request },
          { type: "run-suspend", payload: { reason: "waiting for review", approvalId: request.approvalId } },
        ],
      });
      await store.releaseLease(lease);
      return { runId: run.runId, agent, request, lease };
    }

    test("an approval-request becomes a pending queue entry in the same commit", async () => {
      const { store, peer } = context;
      const { runId, agent, request } = await suspendedWithRequest({ priority: "high" });
      const record = await peer.getApproval(request.approvalId);
      assert.ok(record);
      assert.equal(record.runId, runId);
      assert.equal(record.agent, agent);
      assert.equal(record.status, "pending");
      assert.equal(record.priority, "high");
      assert.equal(record.tool, "issue_refund");
      assert.equal(record.argumentsHash, request.argumentsHash);
      assert.equal(record.requestSeq, 3);
      assert.deepEqual(record.request, request);
      assert.deepEqual(record.approvers, []);
      assert.equal(record.expiresAt.toISOString(), request.expiresAt);
      assert.equal((await store.getRun(runId))?.status, "suspended");
      assert.equal(await store.getApproval(uniqueName("apr")), null);
    });

    test("decisions count distinct approvers, an edit rebinds the hash and resets them, final settles", async () => {
      const { store } = context;
      const { runId, request } = await suspendedWithRequest({ requiredApprovals: 2 });
      const lease = (await store.acquireLease({ runId, owner: "approvals", ttlMs: 30_000 }))!;
      const decide = (payload: Partial<PayloadOf<"approval-decision">> & { by: ReturnType<typeof by> }) =>
        store.append({
          lease,
          events: [
            {
              type: "approval-decision",
              payload: {
                approvalId: request.approvalId,
                decision: "approve",
                approvals: 1,
                final: false,
                ...payload,
              },
            },
          ],
        });
      await decide({ by: by("kim") });
      assert.deepEqual((await store.getApproval(request.approvalId))?.approvers, ["kim"]);
      await decide({
        by: by("lee"),
        edited: { previousHash: "a".repeat(64), argumentsHash: "b".repeat(64) },
      });
      let record = await store.getApproval(request.approvalId);
      assert.deepEqual(record?.approvers, ["lee"]);
      assert.equal(record?.argumentsHash, "b".repeat(64));
      assert.equal(record?.edited, true);
      assert.equal(record?.status, "pending");
      await decide({ by: by("kim"), approvals: 2, final: true });
      record = await store.getApproval(request.approvalId);
      assert.equal(record?.status, "approved");
      assert.deepEqual(record?.approvers, ["lee", "kim"]);
      assert.equal(record?.decidedBy, "kim");
      assert.ok(record?.decidedAt);
    });

    test("an append under a stale lease changes neither the journal nor the queue", async () => {
      const { store } = context;
      const { runId, request, lease } = await suspendedWithRequest();
      const event: NewEvent = {
        type: "approval-decision",
        payload: {
          approvalId: request.approvalId,
          decision: "approve",
          by: by("kim"),
          approvals: 1,
          final: true,
        },
      };
      await rejectsWithCode(store.append({ lease, events: [event] }), "stale_lease");
      assert.equal((await store.getApproval(request.approvalId))?.status, "pending");
      assert.equal((await store.getRun(runId))?.lastSeq, 4);
    });

    test("an expiry escalates to another queue with a new deadline, or denies", async () => {
      const { store } = context;
      const { runId, request } = await suspendedWithRequest({
        onTimeout: "escalate",
        escalateTo: "managers",
      });
      const lease = (await store.acquireLease({ runId, owner: "sla", ttlMs: 30_000 }))!;
      const later = new Date(Date.now() + 7_200_000).toISOString();
      await store.append({
        lease,
        events: [
          {
            type: "approval-expire",
            payload: {
              approvalId: request.approvalId,
              outcome: "escalated",
              expiredAt: request.expiresAt,
              routeTo: "managers",
              expiresAt: later,
              priority: "urgent",
            },
          },
        ],
      });
      let record = await store.getApproval(request.approvalId);
      assert.deepEqual(
        [
          record?.status,
          record?.routeTo,
          record?.escalations,
          record?.priority,
          record?.expiresAt.toISOString(),
        ],
        ["pending", "managers", 1, "urgent", later],
      );
      await store.append({
        lease,
        events: [
          {
            type: "approval-expire",
            payload: { approvalId: request.approvalId, outcome: "denied", expiredAt: later },
          },
        ],
      });
      record = await store.getApproval(request.approvalId);
      assert.deepEqual([record?.status, record?.decidedBy], ["expired", "system:sla"]);
    });

    test("lists the queue by route, agent and tool, most urgent first, and finds what is due", async () => {
      const { store } = context;
      const route = uniqueName("team");
      const past = new Date(Date.now() - 1_000).toISOString();
      const low = await suspendedWithRequest({ routeTo: route, priority: "low" });
      const urgent = await suspendedWithRequest({ routeTo: route, priority: "urgent", tool: "send_email" });
      const due = await suspendedWithRequest({ routeTo: route, expiresAt: past });
      const queue = await store.listApprovals({ status: "pending", routeTo: route });
      assert.deepEqual(
        queue.map((record) => record.approvalId),
        [urgent.request.approvalId, due.request.approvalId, low.request.approvalId],
      );
      assert.deepEqual(
        (await store.listApprovals({ routeTo: route, tool: "send_email" })).map(
          (record) => record.approvalId,
        ),
        [urgent.request.approvalId],
      );
      assert.deepEqual(
        (await store.listApprovals({ agent: low.agent })).map((record) => record.approvalId),
        [low.request.approvalId],
      );
      const dueNow = await store.listApprovals({ dueBy: new Date(), routeTo: route });
      assert.deepEqual(
        dueNow.map((record) => record.approvalId),
        [due.request.approvalId],
      );
      await rejectsWithCode(store.listApprovals({ limit: 0 }), "invalid_request");
    });

    test("counts requests and decision times per agent, tool and status", async () => {
      const { store } = context;
      const { runId, agent, request } = await suspendedWithRequest();
      await suspendedWithRequest({ context: { ...request.context, agent } });
      const lease = (await store.acquireLease({ runId, owner: "approvals", ttlMs: 30_000 }))!;
      await store.append({
        lease,
        events: [
          {
            type: "approval-decision",
            payload: {
              approvalId: request.approvalId,
              decision: "reject",
              by: by("kim"),
              approvals: 0,
              final: true,
            },
          },
        ],
      });
      const rows = (await store.approvalStats()).filter((row) => row.agent === agent);
      assert.deepEqual(
        rows.map((row) => [row.status, row.count]),
        [
          ["pending", 1],
          ["rejected", 1],
        ],
      );
      const rejected = rows.find((row) => row.status === "rejected")!;
      assert.ok(rejected.decisionSecondsP50 !== null && rejected.decisionSecondsP50 >= 0);
    });

    test("a request still pending when its suspended run ends is withdrawn", async () => {
      const { store } = context;
      const { runId, request } = await suspendedWithRequest();
      const lease = (await store.acquireLease({ runId, owner: "canceller", ttlMs: 30_000 }))!;
      await store.append({
        lease,
        events: [{ type: "run-end", payload: { status: "cancelled", steps: 1 } }],
      });
      const record = await store.getApproval(request.approvalId);
      assert.deepEqual([record?.status, record?.decidedBy], ["withdrawn", "system:run-end"]);
    });

    test("journalTransaction decides from the journal and appends in one commit under a fresh lease", async () => {
      const { store, peer } = context;
      const { runId, agent, request } = await suspendedWithRequest();
      const outcome = await peer.journalTransaction({
        runId,
        owner: "approvals",
        ttlMs: 30_000,
        release: true,
        decide: (journal) => ({
          events: [
            {
              type: "approval-decision",
              payload: {
                approvalId: request.approvalId,
                decision: "approve",
                by: by("kim"),
                approvals: 1,
                final: true,
              },
            },
            { type: "run-resume", payload: { reason: "approved", worker: "approvals" } },
          ],
          result: journal.length,
        }),
      });
      assert.ok(outcome);
      assert.deepEqual(
        [outcome.result, outcome.released, outcome.written.map((event) => event.seq)],
        [4, true, [5, 6]],
      );
      assert.equal((await store.getApproval(request.approvalId))?.status, "approved");
      const [claimed] = await store.claimRuns({ owner: "w", ttlMs: 30_000, limit: 5, agents: [agent] });
      assert.equal(claimed?.token, outcome.lease.token + 1);
    });

    test("journalTransaction returns null while a live lease is held and leaves nothing when decide throws", async () => {
      const { store } = context;
      const { runId } = await suspendedWithRequest();
      const held = (await store.acquireLease({ runId, owner: "other", ttlMs: 30_000 }))!;
      const refused = await store.journalTransaction({
        runId,
        owner: "approvals",
        ttlMs: 30_000,
        release: true,
        decide: () => ({ events: [], result: null }),
      });
      assert.equal(refused, null);
      await store.releaseLease(held);
      await assert.rejects(
        store.journalTransaction({
          runId,
          owner: "approvals",
          ttlMs: 30_000,
          release: false,
          decide: () => {
            throw new Error("refused");
          },
        }),
        /refused/,
      );
      const next = await store.acquireLease({ runId, owner: "w", ttlMs: 30_000 });
      assert.equal(next?.token, held.token + 1, "a refused decision spends no fencing token");
      assert.equal((await store.getRun(runId))?.lastSeq, 4);
    });

    test("a suspended run is not claimed until a decision appends run-resume under a lease and releases it", async () => {
      const { store } = context;
      const { runId, agent } = await suspendedWithRequest();
      assert.deepEqual(await store.claimRuns({ owner: "w2", ttlMs: 30_000, limit: 10, agents: [agent] }), []);
      const lease = (await store.acquireLease({ runId, owner: "approvals", ttlMs: 30_000 }))!;
      await store.append({
        lease,
        events: [{ type: "run-resume", payload: { reason: "approved", worker: "x" } }],
      });
      await store.releaseLease(lease);
      const claimed = await store.claimRuns({ owner: "w2", ttlMs: 30_000, limit: 10, agents: [agent] });
      assert.deepEqual(
        claimed.map((each) => [each.runId, each.token > lease.token]),
        [[runId, true]],
      );
    });
  });
}
