import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import { decideApproval } from "../approvals/decide-approval.ts";
import { expireDueApprovals } from "../approvals/expire-approvals.ts";
import { defineWorkflow } from "../spec/index.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { createChildRuns } from "./child-runs.ts";
import { foldEvents } from "./run-state.ts";
import { startRun } from "./start-run.ts";
import { createWorker } from "./worker.ts";

const principal = { subject: "tester", tenant: "default", roles: [] };

const router = defineWorkflow({
  name: "desk-router",
  version: "1.0.0",
  description: "Hands every request to the helper.",
  owner: { team: "qa" },
  riskTier: 3,
  state: {},
  start: "handover",
  nodes: { handover: { handoff: { agent: "helper", reason: "the helper knows" } } },
});

const helper = scriptedAgent({ name: "helper", turns: [{ kind: "answer", text: "helped" }] });
const workflow: AgentDefinition = { ...scriptedAgent({ name: "desk-router", turns: [] }), workflow: router };

let store: SqlStore;
before(async () => {
  store = await openStore({});
});
after(async () => {
  await store.close();
});

test("a handoff node replayed after its child started but before its end was journaled finds that child, not a second", async () => {
  const { run } = await startRun({ store, agent: workflow, input: "where is my parcel?", principal });
  const current = (name: string) => (name === "helper" ? helper : undefined);
  // What a worker that died right after starting the child left behind: the child, and no node-end.
  const parentState = foldEvents(await store.readEvents({ runId: run.runId }));
  const { run: earlier, created } = await createChildRuns({
    store,
    parent: parentState,
    parentAgent: workflow,
    agentNamed: current,
  }).start({
    agent: "helper",
    input: "where is my parcel?\n\n(Handed over by desk-router: the helper knows)",
    node: "handover",
    visit: 1,
    idempotencyKey: `${run.runId}:handover.1`,
  });
  assert.equal(created, true);

  const governor = await testGovernor([workflow, helper], {
    governance: (agent) => (agent.name === "desk-router" ? { allowedAgents: ["helper"] } : {}),
  });
  const worker = createWorker({
    store,
    agents: (name) => current(name) ?? (name === "desk-router" ? workflow : undefined),
    agentNamed: current,
    governor,
    owner: "handoff-test",
  });
  worker.start();
  try {
    for (let waited = 0; waited < 10_000; waited += 20) {
      const parent = await store.getRun(run.runId);
      const child = await store.getRun(earlier.runId);
      if (parent?.status === "completed" && child?.status === "completed") break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await worker.stop();
  }
  const events = await store.readEvents({ runId: run.runId });
  const end = events.find((event) => event.type === "node-end");
  assert.deepEqual(end?.type === "node-end" && end.payload.output, {
    handoff: { kind: "agent", name: "helper", runId: earlier.runId },
    reason: "the helper knows",
  });
  assert.equal((await store.getRun(run.runId))?.status, "completed");
  assert.equal(
    (await store.listRuns({ agent: "helper" })).runs.length,
    1,
    "one child run, however often the node ran",
  );
  assert.equal((await store.getRun(earlier.runId))?.answer, "helped");
});

/** A governor that holds every handoff to the helper for a person (a team's `@review` policy on `delegate`). */
async function reviewingGovernor() {
  return testGovernor([workflow, helper], {
    governance: (agent) => (agent.name === "desk-router" ? { allowedAgents: ["helper"] } : {}),
    policyFiles: [
      {
        path: "policies/handoffs.cedar",
        mode: "enforce",
        text: `@id("review-handoffs") @review("handing a customer to another agent is checked this month")
forbid(principal == Keel::Agent::"desk-router", action == Keel::Action::"delegate", resource);`,
      },
    ],
  });
}

/** Run the worker until `done` says the runs it watches have settled. */
async function work(governor: Awaited<ReturnType<typeof testGovernor>>, done: () => Promise<boolean>) {
  const current = (name: string) => (name === "helper" ? helper : undefined);
  const worker = createWorker({
    store,
    agents: (name) => current(name) ?? (name === "desk-router" ? workflow : undefined),
    agentNamed: current,
    governor,
    owner: "handoff-review-test",
  });
  worker.start();
  try {
    for (let waited = 0; waited < 10_000 && !(await done()); waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await worker.stop();
  }
}

const desk = { subject: "desk-lead", tenant: "default", roles: ["approver:desk-router"] };

test("a handoff the governor holds for review asks a person, and hands over only once they approve", async () => {
  const governor = await reviewingGovernor();
  const { run } = await startRun({ store, agent: workflow, input: "refund my order", principal });
  await work(governor, async () => (await store.getRun(run.runId))?.status === "suspended");
  assert.equal((await store.getRun(run.runId))?.status, "suspended");
  const [pending] = await store.listApprovals({ runId: run.runId, status: "pending" });
  assert.equal(pending?.kind, "delegation");
  assert.match(
    pending?.request.summary ?? "",
    /desk-router wants to hand the work to agent helper: the helper knows/,
  );
  assert.deepEqual(pending?.request.arguments, { agent: "helper", reason: "the helper knows" });
  const before = await store.readEvents({ runId: run.runId });
  const decided = before.find((event) => event.type === "policy-decision");
  assert.equal(decided?.type === "policy-decision" && decided.payload.decision, "review");
  assert.equal(
    (await store.listRuns({ agent: "helper" })).runs.filter((each) => each.parentRunId === run.runId).length,
    0,
    "no child before a person decides",
  );
  await assert.rejects(
    decideApproval({
      store,
      approvalId: pending!.approvalId,
      input: { decision: "approve", approver: desk, argumentsHash: pending!.argumentsHash!, arguments: {} },
    }),
    /a delegation has no arguments to edit/,
  );

  await decideApproval({
    store,
    approvalId: pending!.approvalId,
    input: { decision: "approve", approver: desk, argumentsHash: pending!.argumentsHash! },
  });
  await work(governor, async () => (await store.getRun(run.runId))?.status === "completed");
  const events = await store.readEvents({ runId: run.runId });
  const end = events.find((event) => event.type === "node-end");
  assert.ok(end?.type === "node-end" && end.payload.outcome === "ok");
  const children = (await store.listRuns({ agent: "helper" })).runs.filter(
    (each) => each.parentRunId === run.runId,
  );
  assert.equal(children.length, 1);
  assert.deepEqual(end.payload.output, {
    handoff: { kind: "agent", name: "helper", runId: children[0]!.runId },
    reason: "the helper knows",
  });
  assert.equal(
    events.filter((event) => event.type === "policy-decision").length,
    1,
    "the governor is asked once; the person's decision is what the resume reads",
  );
});

test("a held handoff that a person rejects, or nobody decides in time, ends the run without starting the agent", async () => {
  const governor = await reviewingGovernor();
  const rejected = (await startRun({ store, agent: workflow, input: "close my account", principal })).run;
  const expired = (await startRun({ store, agent: workflow, input: "change my address", principal })).run;
  const suspended = async () =>
    (await store.getRun(rejected.runId))?.status === "suspended" &&
    (await store.getRun(expired.runId))?.status === "suspended";
  await work(governor, suspended);
  const [toReject] = await store.listApprovals({ runId: rejected.runId, status: "pending" });
  await decideApproval({
    store,
    approvalId: toReject!.approvalId,
    input: { decision: "reject", approver: desk, comment: "keep it with the desk" },
  });
  const [toExpire] = await store.listApprovals({ runId: expired.runId, status: "pending" });
  const result = await expireDueApprovals({
    store,
    now: () => new Date(Date.parse(toExpire!.request.expiresAt) + 1_000),
  });
  assert.ok(result.denied.includes(toExpire!.approvalId));
  const ended = async () =>
    (await store.getRun(rejected.runId))?.status === "failed" &&
    (await store.getRun(expired.runId))?.status === "failed";
  await work(governor, ended);
  for (const [run, code, message] of [
    [rejected, "delegation_denied", /desk-lead did not allow handing off to agent helper/],
    [expired, "approval_expired", /nobody decided in time whether to hand off to agent helper/],
  ] as const) {
    const record = await store.getRun(run.runId);
    assert.equal(record?.status, "failed");
    assert.equal(record?.error?.code, code);
    assert.match(record?.error?.message ?? "", message);
    assert.equal(
      (await store.listRuns({ agent: "helper" })).runs.filter((each) => each.parentRunId === run.runId)
        .length,
      0,
    );
  }
});
