import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hashPayload, type NewEvent, STARTS_WORK } from "../journal/index.ts";
import type { SqlStore } from "./sql-store.ts";
import type { Lease, RunRecord } from "./store.ts";
import {
  createQueuedRun,
  modelCallStart,
  rejectsWithCode,
  runStart,
  type StoreContractContext,
  sleep,
  stepStart,
  uniqueName,
} from "./store-contract-fixtures.ts";

/** One event of each type that starts work, for step 2 of a run. */
const STARTING: readonly NewEvent[] = [
  stepStart(2),
  { type: "node-start", payload: { node: "check", kind: "tool", visit: 1, step: 2 } },
  modelCallStart(2),
  {
    type: "tool-call-start",
    payload: { step: 2, callId: "c2", tool: "lookup", idempotencyKey: "k2", attempt: 1 },
  },
  {
    type: "child-start",
    payload: { node: "check", visit: 1, childRunId: "run-child", agent: "checker" },
  },
  {
    type: "approval-request",
    payload: {
      approvalId: "ap-1",
      kind: "handoff",
      summary: "check",
      reasons: ["r"],
      policies: [],
      context: {
        agent: "a",
        agentVersion: "1.0.0",
        input: "hello",
        step: 2,
        principal: { subject: "user:ada", tenant: "acme", roles: [] },
        dataClasses: [],
        recent: [],
      },
      requestedBy: "user:ada",
      routeTo: "ops",
      priority: "normal",
      requiredApprovals: 1,
      approverRoles: ["approver"],
      requestedAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
      onTimeout: "deny",
    },
  },
];

/** Step 1 of a run up to a tool call that started and has not ended. */
function openToolCall(): NewEvent[] {
  return [
    stepStart(1),
    modelCallStart(1),
    {
      type: "model-call-end",
      payload: { step: 1, provider: "scripted", model: "test", outcome: "ok", durationMs: 1 },
    },
    {
      type: "tool-call-propose",
      payload: { step: 1, callId: "c1", tool: "lookup", arguments: {}, argumentsHash: hashPayload({}) },
    },
    {
      type: "policy-decision",
      payload: { callId: "c1", action: "tool:lookup", decision: "allow", reasons: [] },
    },
    {
      type: "tool-call-start",
      payload: { step: 1, callId: "c1", tool: "lookup", idempotencyKey: "k1", attempt: 1 },
    },
  ];
}

const TOOL_CALL_END: NewEvent = {
  type: "tool-call-end",
  payload: { step: 1, callId: "c1", tool: "lookup", outcome: "ok", result: { found: true }, durationMs: 3 },
};

const CANCELLED_END: NewEvent = {
  type: "run-end",
  payload: { status: "cancelled", error: { code: "cancelled", message: "cancelled by request" }, steps: 1 },
};

async function leased(store: SqlStore, run: RunRecord): Promise<Lease> {
  const lease = await store.acquireLease({ runId: run.runId, owner: "w", ttlMs: 10_000 });
  assert.ok(lease);
  return lease;
}

/**
 * Contract tests for the cancel fence: after a run's cancel commits, the store refuses every append that leaves work
 * open, and writes one whose starts all end in it.
 */
export function cancelFenceContract(context: StoreContractContext): void {
  describe("the cancel fence", () => {
    test("the event types that start work are exactly those the fence refuses", () => {
      assert.deepEqual(
        [...STARTS_WORK].sort(),
        STARTING.map((event) => event.type).sort(),
        "each type that starts work is exercised below",
      );
    });

    test("refuses every append that starts work once the run's cancel committed, through the fenced statement and the locking transaction, and writes nothing of it", async () => {
      const { store, peer } = context;
      const run = await createQueuedRun(store);
      const lease = await leased(store, run);
      await store.append({ lease, events: openToolCall() });
      const written = await store.readEvents({ runId: run.runId });
      const cancel = await store.cancelTree(run.runId, { by: "user:ada" });
      assert.deepEqual(cancel?.fencedAt, [{ runId: run.runId, lastSeq: written.length }]);

      // This store knows the run's head, so its first append is the fenced statement; the peer knows none.
      const before = store.stats;
      await rejectsWithCode(store.append({ lease, events: [TOOL_CALL_END, stepStart(2)] }), "cancelled");
      assert.equal(store.stats.fencedCommits, before.fencedCommits, "the fenced statement wrote nothing");
      for (const event of STARTING) {
        await rejectsWithCode(store.append({ lease, events: [event] }), "cancelled");
        await rejectsWithCode(peer.append({ lease, events: [event] }), "cancelled");
      }
      assert.deepEqual(await store.readEvents({ runId: run.runId }), written);
      assert.deepEqual(await store.listApprovals({ runId: run.runId }), []);
      const row = await store.getRun(run.runId);
      assert.deepEqual([row?.status, row?.lastSeq], ["running", written.length]);
    });

    test("accepts what settles work in flight after the cancel, and the run ends cancelled", async () => {
      const { store, peer } = context;
      const run = await createQueuedRun(store);
      const lease = await leased(store, run);
      await store.append({ lease, events: openToolCall() });
      await store.cancelTree(run.runId, { by: "user:ada" });
      const fencedBefore = store.stats.fencedCommits;
      // The in-flight call's outcome is still recorded, in one fenced statement.
      const [ended] = await store.append({ lease, events: [TOOL_CALL_END] });
      assert.equal(ended?.type, "tool-call-end");
      assert.equal(store.stats.fencedCommits, fencedBefore + 1);
      await peer.append({
        lease,
        events: [
          { type: "guard-flag", payload: guardFlag() },
          { type: "run-cancel", payload: { requestedBy: "user:ada" } },
          CANCELLED_END,
        ],
      });
      const row = await store.getRun(run.runId);
      assert.equal(row?.status, "cancelled");
      const types = (await store.readEvents({ runId: run.runId })).map((event) => event.type);
      assert.deepEqual(types.slice(-4), ["tool-call-end", "guard-flag", "run-cancel", "run-end"]);
    });

    test("fences a child created after its parent's cancel from its first step, and lets it end cancelled", async () => {
      const { store } = context;
      const top = await createQueuedRun(store);
      await store.cancelTree(top.runId, { by: "user:ada" });
      const { run: child } = await store.createRun({
        runId: uniqueName("run"),
        start: runStart(uniqueName("agent")),
        parent: { runId: top.runId, node: "late" },
      });
      const lease = await leased(store, child);
      await rejectsWithCode(store.append({ lease, events: [stepStart(1)] }), "cancelled");
      await store.append({ lease, events: [CANCELLED_END] });
      assert.equal((await store.getRun(child.runId))?.status, "cancelled");
    });

    test("after the cancel, writes an append whose starts all end in it (work already done), and refuses one that leaves a call open or ends the run other than cancelled", async () => {
      const { store, peer } = context;
      const run = await createQueuedRun(store);
      const lease = await leased(store, run);
      await store.cancelTree(run.runId, { by: "user:ada" });
      // A step whose model turn ended and whose tool call is still to start: refused from that start on.
      const step = openToolCall();
      await rejectsWithCode(store.append({ lease, events: step }), "cancelled");
      await rejectsWithCode(peer.append({ lease, events: step }), "cancelled");
      assert.equal((await store.readEvents({ runId: run.runId })).length, 1, "nothing of it was written");
      // The same step with its read-only call's end: every start in it is finished, so it is a record, not new work.
      const done = [...step, TOOL_CALL_END];
      const written = await store.append({ lease, events: done });
      assert.deepEqual(
        written.map((event) => event.type),
        done.map((event) => event.type),
      );
      // Through the locking transaction too (the peer knows no head): a model turn with its end.
      await peer.append({
        lease,
        events: [
          stepStart(2),
          modelCallStart(2),
          {
            type: "model-call-end",
            payload: { step: 2, provider: "scripted", model: "test", outcome: "ok", durationMs: 1 },
          },
        ],
      });
      // A model turn not ended in the append is still refused, and so is any end of the run but cancelled.
      await rejectsWithCode(store.append({ lease, events: [stepStart(3), modelCallStart(3)] }), "cancelled");
      const completed: NewEvent = {
        type: "run-end",
        payload: { status: "completed", answer: "late", steps: 2 },
      };
      await rejectsWithCode(store.append({ lease, events: [completed] }), "cancelled");
      await rejectsWithCode(peer.append({ lease, events: [completed] }), "cancelled");
      await store.append({ lease, events: [CANCELLED_END] });
      assert.equal((await store.getRun(run.runId))?.status, "cancelled");
    });

    test("across two stores and 20 trees of appends racing a cancel, no event that starts work is committed after the seq the cancel returned", async () => {
      const { store, peer } = context;
      let refusedRuns = 0;
      for (let trial = 0; trial < 20; trial += 1) {
        const top = await createQueuedRun(store);
        const runs = [top];
        for (let index = 0; index < 3; index += 1) {
          const { run } = await store.createRun({
            runId: uniqueName("run"),
            start: runStart(uniqueName("agent")),
            parent: { runId: runs[index % 2]!.runId, node: `n${index}` },
          });
          runs.push(run);
        }
        const leases = await Promise.all(runs.map(async (run) => await leased(store, run)));
        const refused = new Set<string>();
        const [cancelled] = await Promise.all([
          (async () => {
            await sleep(trial % 5);
            return await (trial % 2 === 0 ? peer : store).cancelTree(top.runId, { by: "user:ada" });
          })(),
          ...leases.map(async (lease, index) => {
            const via = index % 2 === 0 ? store : peer;
            for (let step = 1; step <= 8; step += 1) {
              try {
                await via.append({ lease, events: [stepStart(step), modelCallStart(step)] });
              } catch (error) {
                await rejectsWithCode(Promise.reject(error), "cancelled");
                refused.add(lease.runId);
                await via.append({ lease, events: [CANCELLED_END] });
                return;
              }
            }
          }),
        ]);
        assert.ok(cancelled);
        assert.equal(cancelled.fencedAt.length, runs.length, "every run of the tree was live and is fenced");
        for (const { runId, lastSeq } of cancelled.fencedAt) {
          const events = await store.readEvents({ runId });
          const late = events.filter((event) => event.seq > lastSeq && STARTS_WORK.has(event.type));
          assert.deepEqual(late, [], `trial ${trial}: ${runId}`);
          if (refused.has(runId)) assert.equal((await store.getRun(runId))?.status, "cancelled");
        }
        refusedRuns += refused.size;
      }
      assert.ok(refusedRuns > 0, "some appends raced the cancel and were refused");
    });
  });
}

function guardFlag() {
  return {
    where: "tool-result" as const,
    tool: "lookup",
    callId: "c1",
    detector: "injection@1",
    score: 0.1,
    threshold: 0.8,
    rules: [],
    classes: [],
    action: "flag" as const,
    textHash: "sha256:x",
    textLength: 10,
  };
}
