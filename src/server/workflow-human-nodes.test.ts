import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { claimsHelper, expenseClaimPackage, payments } from "../../test/fixtures/workflow-packages/index.ts";
import { testStores } from "../../test/support/test-database.ts";
import type { JournalEvent } from "../journal/index.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { createKeel, type Keel } from "./create-keel.ts";

const FIXTURE = new URL("../../test/fixtures/workflow-packages/expense-claim.yaml", import.meta.url).pathname;
const FINANCE = { "x-keel-subject": "fin@example.com", "x-keel-roles": "approver:finance" };

type RunView = { id: string; status: string; answer: string | null; error?: { code: string } | null };

/** One Keel serving the fixture workflow (its spec rewritten by `edit`) and the claims-helper agent. */
async function serve(
  store: SqlStore,
  edit: (spec: string) => string = (spec) => spec,
): Promise<{ keel: Keel; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "keel-human-nodes-"));
  const specFile = join(dir, "expense-claim.yaml");
  await writeFile(
    specFile,
    edit(await readFile(FIXTURE, "utf8")).replace("./evals/", `${dirname(FIXTURE)}/evals/`),
  );
  const keel = await createKeel({
    store,
    agents: [expenseClaimPackage(specFile), claimsHelper],
    env: {},
    log: () => undefined,
    timers: false,
  });
  return {
    keel,
    async close() {
      await keel.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function call(keel: Keel, method: string, path: string, body?: unknown, headers = {}) {
  const response = await keel.fetch(
    new Request(`http://127.0.0.1${path}`, {
      method,
      headers: { "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }),
  );
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Start a run of the workflow and wait until it is suspended or ended. */
async function startClaim(keel: Keel, claimId: string): Promise<RunView> {
  const started = await call(keel, "POST", "/v1/agents/expense-claim/runs", {
    input: JSON.stringify({ claimId }),
  });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  return await settle(keel, started.body.id as string);
}

async function settle(keel: Keel, id: string, within = 15_000): Promise<RunView> {
  const until = Date.now() + within;
  for (;;) {
    const { body } = await call(keel, "GET", `/v1/runs/${id}`);
    if (["completed", "failed", "suspended", "cancelled"].includes(body.status as string))
      return body as unknown as RunView;
    if (Date.now() > until) throw new Error(`run ${id} is still ${String(body.status)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function settleAfter(keel: Keel, id: string, from: string): Promise<RunView> {
  const until = Date.now() + 15_000;
  for (;;) {
    const run = await settle(keel, id);
    if (run.status !== from) return run;
    if (Date.now() > until) throw new Error(`run ${id} stayed ${from}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function pendingTask(keel: Keel, runId: string): Promise<Record<string, unknown>> {
  const { body } = await call(keel, "GET", `/v1/approvals?run=${runId}&status=all`);
  const approvals = body.approvals as Record<string, unknown>[];
  assert.equal(approvals.length, 1, JSON.stringify(approvals));
  return approvals[0]!;
}

function nodeEnds(events: readonly JournalEvent[]) {
  return events.flatMap((event) => (event.type === "node-end" ? [event.payload] : []));
}

for (const subject of testStores()) {
  describe(`approval and handoff nodes of a served workflow on ${subject.name}`, () => {
    let store: SqlStore;
    let served: Awaited<ReturnType<typeof serve>>;
    before(async () => {
      store = await subject.open();
      served = await serve(store);
    });
    after(async () => {
      await served.close();
      await store.close();
    });

    test("an approval node asks finance through the queue, and an approval with the form's values goes on to next", async () => {
      const { keel } = served;
      const paidBefore = payments.length;
      const run = await startClaim(keel, "C-2");
      assert.equal(run.status, "suspended");
      const task = await pendingTask(keel, run.id);
      assert.equal(task.kind, "task");
      assert.equal(task.routeTo, "finance");
      assert.match(task.summary as string, /Approve claim C-2 of 250 for lin/);
      assert.deepEqual((task.form as { required: string[] }).required, ["approvedAmount"]);

      const decided = await call(
        keel,
        "POST",
        `/v1/approvals/${task.id}/decision`,
        {
          decision: "approve",
          argumentsHash: task.argumentsHash,
          values: { approvedAmount: 250, note: "receipts attached" },
        },
        FINANCE,
      );
      assert.equal(decided.status, 200, JSON.stringify(decided.body));
      const ended = await settleAfter(keel, run.id, "suspended");
      assert.equal(ended.status, "completed");
      assert.equal(ended.answer, "Paid 250 on claim C-2");
      const events = await store.readEvents({ runId: run.id });
      const decision = events.find((event) => event.type === "approval-decision");
      assert.deepEqual(decision?.payload, {
        ...(decision?.payload as object),
        values: { approvedAmount: 250, note: "receipts attached" },
        by: { subject: "fin@example.com", tenant: "default", roles: ["approver:finance"] },
      });
      const review = nodeEnds(events).find((end) => end.node === "review");
      assert.deepEqual(review, {
        node: "review",
        visit: 1,
        outcome: "ok",
        output: { approvedAmount: 250, note: "receipts attached" },
        writes: "review",
        next: "pay",
      });
      assert.deepEqual(payments.slice(paidBefore), [
        { claimId: "C-2", amount: 250, key: payments.at(-1)?.key },
      ]);
    });

    test("a form that does not match its schema is refused with a 400 naming the field, and the task stays open", async () => {
      const { keel } = served;
      const run = await startClaim(keel, "C-2");
      const task = await pendingTask(keel, run.id);
      const paidBefore = payments.length;
      const missing = await call(
        keel,
        "POST",
        `/v1/approvals/${task.id}/decision`,
        { decision: "approve", argumentsHash: task.argumentsHash, values: { note: "no amount" } },
        FINANCE,
      );
      assert.equal(missing.status, 400, JSON.stringify(missing.body));
      const error = missing.body.error as { code: string; message: string; issues: { path: string }[] };
      assert.equal(error.code, "invalid_request");
      assert.match(error.message, /values\.approvedAmount is required/);
      assert.deepEqual(
        error.issues.map((issue) => issue.path),
        ["values.approvedAmount"],
      );
      const negative = await call(
        keel,
        "POST",
        `/v1/approvals/${task.id}/decision`,
        { decision: "approve", argumentsHash: task.argumentsHash, values: { approvedAmount: -5 } },
        FINANCE,
      );
      assert.equal(negative.status, 400);
      assert.match(
        (negative.body.error as { message: string }).message,
        /values\.approvedAmount must be >= 0/,
      );

      assert.equal((await pendingTask(keel, run.id)).status, "pending");
      assert.equal((await settle(keel, run.id)).status, "suspended");
      const events = await store.readEvents({ runId: run.id });
      assert.equal(events.filter((event) => event.type === "approval-decision").length, 0);
      assert.equal(payments.length, paidBefore);

      const fixed = await call(
        keel,
        "POST",
        `/v1/approvals/${task.id}/decision`,
        { decision: "approve", argumentsHash: task.argumentsHash, values: { approvedAmount: 200 } },
        FINANCE,
      );
      assert.equal(fixed.status, 200, JSON.stringify(fixed.body));
      assert.equal((await settleAfter(keel, run.id, "suspended")).status, "completed");
    });

    test("a rejected task goes to the node's onDeny, and nothing is paid", async () => {
      const { keel } = served;
      const run = await startClaim(keel, "C-2");
      const task = await pendingTask(keel, run.id);
      const paidBefore = payments.length;
      const rejected = await call(
        keel,
        "POST",
        `/v1/approvals/${task.id}/decision`,
        { decision: "reject", comment: "not a business expense" },
        FINANCE,
      );
      assert.equal(rejected.status, 200, JSON.stringify(rejected.body));
      const ended = await settleAfter(keel, run.id, "suspended");
      assert.equal(ended.status, "completed");
      assert.equal(ended.answer, "Claim C-2 was rejected");
      const review = nodeEnds(await store.readEvents({ runId: run.id })).find((end) => end.node === "review");
      assert.equal(review?.outcome, "failed");
      assert.equal(review?.next, "rejected");
      assert.equal(review?.error?.code, "approval_denied");
      assert.match(review?.error?.message ?? "", /fin@example\.com rejected the task/);
      assert.equal(payments.length, paidBefore);
    });

    test("the person who asked cannot approve their own task (separation of duties)", async () => {
      const { keel } = served;
      const run = await startClaim(keel, "C-2");
      const task = await pendingTask(keel, run.id);
      const own = await call(
        keel,
        "POST",
        `/v1/approvals/${task.id}/decision`,
        { decision: "approve", argumentsHash: task.argumentsHash, values: { approvedAmount: 1 } },
        { "x-keel-subject": task.requestedBy as string, "x-keel-roles": "approver:finance" },
      );
      assert.equal(own.status, 403, JSON.stringify(own.body));
      const outsider = await call(
        keel,
        "POST",
        `/v1/approvals/${task.id}/decision`,
        { decision: "approve", argumentsHash: task.argumentsHash, values: { approvedAmount: 1 } },
        { "x-keel-subject": "someone@example.com", "x-keel-roles": "approver:sales" },
      );
      assert.equal(outsider.status, 403, JSON.stringify(outsider.body));
    });

    test("a handoff to a queue ends the workflow and waits for a person, whose answer ends the run", async () => {
      const { keel } = served;
      const run = await startClaim(keel, "C-4");
      assert.equal(run.status, "suspended");
      const request = await pendingTask(keel, run.id);
      assert.equal(request.kind, "handoff");
      assert.equal(request.routeTo, "finance-leads");
      assert.deepEqual(request.reasons, ["Gift claim C-4 needs a person"]);
      const gift = nodeEnds(await store.readEvents({ runId: run.id })).find((end) => end.node === "gift");
      assert.deepEqual(gift?.output, {
        handoff: { kind: "queue", name: "finance-leads" },
        reason: "Gift claim C-4 needs a person",
        approvalId: request.id,
      });
      assert.equal(gift?.next, null);
      const resolved = await call(
        keel,
        "POST",
        `/v1/approvals/${request.id}/decision`,
        { decision: "resolve", resolution: "Gifts under 75 are fine; paid by payroll." },
        { "x-keel-subject": "lead@example.com", "x-keel-roles": "approver:finance-leads" },
      );
      assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
      const ended = await settleAfter(keel, run.id, "suspended");
      assert.equal(ended.status, "completed");
      assert.equal(ended.answer, "Gifts under 75 are fine; paid by payroll.");
    });

    test("a handoff to an agent is a governed delegation that starts the agent as a child run with the conversation", async () => {
      const { keel } = served;
      const run = await startClaim(keel, "C-3");
      assert.equal(run.status, "completed");
      const events = await store.readEvents({ runId: run.id });
      const delegation = events.find(
        (event) => event.type === "policy-decision" && event.payload.action === "delegation",
      );
      assert.equal(delegation?.type === "policy-decision" && delegation.payload.decision, "allow");
      assert.equal(delegation?.type === "policy-decision" && delegation.payload.target, "claims-helper");
      const travel = nodeEnds(events).find((end) => end.node === "travel");
      const output = travel?.output as {
        handoff: { kind: string; name: string; runId: string };
        reason: string;
      };
      assert.equal(output.handoff.kind, "agent");
      assert.equal(output.handoff.name, "claims-helper");
      assert.equal(output.reason, "Travel claim C-3 needs the travel policy");
      assert.equal(
        run.answer,
        `Handed over to claims-helper (run ${output.handoff.runId}): ${output.reason}`,
      );

      const child = await store.getRun(output.handoff.runId);
      assert.equal(child?.agent, "claims-helper");
      const childEvents = await store.readEvents({ runId: output.handoff.runId });
      const start = childEvents[0];
      assert.equal(start?.type, "run-start");
      if (start?.type !== "run-start") return;
      assert.equal(start.payload.parent?.runId, run.id);
      assert.equal(start.payload.parent?.node, "travel");
      assert.match(start.payload.input, /"claimId":"C-3"/);
      assert.match(start.payload.input, /Travel claim C-3 needs the travel policy/);
      const childEnded = await settle(keel, output.handoff.runId);
      assert.equal(childEnded.status, "completed");
      assert.equal(childEnded.answer, "Travel claims are paid once the trip report is filed.");
    });
  });

  describe(`approval and handoff nodes under other settings on ${subject.name}`, () => {
    test("a task nobody completes within its SLA goes to onTimeout by the durable timer, and a late approval is refused", async () => {
      const store = await subject.open();
      const served = await serve(store, (spec) => spec.replace("sla: 1h", "sla: 1s"));
      try {
        const { keel } = served;
        const run = await startClaim(keel, "C-2");
        assert.equal(run.status, "suspended");
        const task = await pendingTask(keel, run.id);
        assert.equal((await store.getRun(run.id))?.wakeAt?.toISOString(), task.expiresAt);
        // The overdue path is a handoff to the leads: the run suspends again, on that request.
        const until = Date.now() + 15_000;
        let events: JournalEvent[] = [];
        while (Date.now() < until) {
          events = await store.readEvents({ runId: run.id });
          if (events.some((event) => event.type === "node-end" && event.payload.node === "overdue")) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        assert.equal(events.filter((event) => event.type === "timer-fire").length, 1);
        const review = nodeEnds(events).find((end) => end.node === "review");
        assert.equal(review?.outcome, "failed");
        assert.equal(review?.error?.code, "approval_timeout");
        assert.equal(review?.next, "overdue");
        const expired = events.find((event) => event.type === "approval-expire");
        assert.equal(expired?.type === "approval-expire" && expired.payload.approvalId, task.id);
        const { body } = await call(keel, "GET", `/v1/approvals/${task.id}`);
        assert.equal(body.status, "expired");
        const late = await call(
          keel,
          "POST",
          `/v1/approvals/${task.id}/decision`,
          { decision: "approve", argumentsHash: task.argumentsHash, values: { approvedAmount: 250 } },
          FINANCE,
        );
        assert.equal(late.status, 409, JSON.stringify(late.body));
        assert.equal((await settle(keel, run.id)).status, "suspended");
      } finally {
        await served.close();
        await store.close();
      }
    });

    test("a tier-1 workflow's task needs two distinct approvers, and the values of the approval that settles it are written", async () => {
      const store = await subject.open();
      const served = await serve(store, (spec) => spec.replace("riskTier: 2", "riskTier: 1"));
      try {
        const { keel } = served;
        const run = await startClaim(keel, "C-2");
        const task = await pendingTask(keel, run.id);
        assert.equal(task.requiredApprovals, 2);
        const approve = async (subject: string, approvedAmount: number) =>
          await call(
            keel,
            "POST",
            `/v1/approvals/${task.id}/decision`,
            { decision: "approve", argumentsHash: task.argumentsHash, values: { approvedAmount } },
            { "x-keel-subject": subject, "x-keel-roles": "approver:finance" },
          );
        const first = await approve("fin@example.com", 250);
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.equal(first.body.resumed, false);
        assert.equal((await approve("fin@example.com", 250)).status, 409, "one person counts once");
        assert.equal((await settle(keel, run.id)).status, "suspended");
        const second = await approve("controller@example.com", 200);
        assert.equal(second.status, 200, JSON.stringify(second.body));
        assert.equal(second.body.resumed, true);
        assert.equal((await settleAfter(keel, run.id, "suspended")).status, "completed");
        const review = nodeEnds(await store.readEvents({ runId: run.id })).find(
          (end) => end.node === "review",
        );
        assert.deepEqual(review?.output, { approvedAmount: 200 });
      } finally {
        await served.close();
        await store.close();
      }
    });

    test("a handoff to an agent the workflow's governance does not allow fails the node, naming the denial", async () => {
      const store = await subject.open();
      const served = await serve(store, (spec) => spec.replace("  allowedAgents: [claims-helper]\n", ""));
      try {
        const run = await startClaim(served.keel, "C-3");
        assert.equal(run.status, "failed");
        assert.equal(run.error?.code, "delegation_denied");
        const events = await store.readEvents({ runId: run.id });
        const travel = nodeEnds(events).find((end) => end.node === "travel");
        assert.equal(travel?.outcome, "failed");
        assert.match(
          travel?.error?.message ?? "",
          /the governor did not allow handing off to agent claims-helper: /,
        );
        const decision = events.find(
          (event) => event.type === "policy-decision" && event.payload.action === "delegation",
        );
        assert.equal(decision?.type === "policy-decision" && decision.payload.decision, "deny");
        const children = (await store.listRuns({ agent: "claims-helper" })).runs;
        assert.equal(children.length, 0, "no child run was started");
      } finally {
        await served.close();
        await store.close();
      }
    });
  });
}
