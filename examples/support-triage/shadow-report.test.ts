/**
 * The shadow report over real runs of the support example: live refunds held for a support lead, who approves one,
 * edits one and rejects one; a candidate shadows each live run once it has ended. The report gives the candidate's
 * agreement with each person's decision, and the journal of each shadow says what it would have asked.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { decideApproval } from "../../src/approvals/decide-approval.ts";
import type { KeelGovernor } from "../../src/governance/create-governor.ts";
import type { Principal } from "../../src/journal/events.ts";
import { buildShadowReport } from "../../src/rollout/shadow-report.ts";
import type { AgentDefinition } from "../../src/runtime/agent-definition.ts";
import { startRun } from "../../src/runtime/start-run.ts";
import { createWorker, type Worker } from "../../src/runtime/worker.ts";
import { createAgentGovernor } from "../../src/server/agent-policies.ts";
import { loadAgentPackages } from "../../src/server/create-keel.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { supportTriage } from "./index.ts";

const CANDIDATE = "1.1.0-candidate";
const customer: Principal = { subject: "ada@example.com", tenant: "larkspur", roles: ["customer"] };
const lead: Principal = {
  subject: "lee@larkspur.example",
  tenant: "larkspur",
  roles: ["approver:support-leads"],
};

describe("the shadow report of the support-triage agent against people's decisions", () => {
  let store: SqlStore;
  let governor: KeelGovernor;
  let worker: Worker;
  let stable: AgentDefinition;
  let candidate: AgentDefinition;

  before(async () => {
    store = await openStore({});
    const { agents, governed } = await loadAgentPackages({ store, packages: [supportTriage], env: {} });
    governor = await createAgentGovernor({ store, agents: governed, log: () => undefined });
    stable = agents.current("support-triage")!;
    candidate = { ...stable, version: CANDIDATE, versionHash: `${stable.versionHash}-candidate` };
    await governor.load({ ...governed[0]!, version: CANDIDATE });
    worker = createWorker({
      store,
      agents: (name, version) => (version === CANDIDATE ? candidate : agents.lookup(name, version)),
      governor,
      owner: "shadow-report",
      leaseTtlMs: 10_000,
    });
    worker.start();
  });
  after(async () => {
    await worker?.stop();
    governor?.close();
    await store?.close();
  });

  async function settle(runId: string, until: readonly string[] = ["queued", "running"]) {
    for (let i = 0; i < 600; i++) {
      const run = (await store.getRun(runId))!;
      if (!until.includes(run.status)) return run;
      await store.waitForEvents({ runId, afterSeq: run.lastSeq, timeoutMs: 100 });
    }
    throw new Error(`run ${runId} did not settle`);
  }

  /**
   * A live refund held for review with its shadow started beside it, as a shadow deployment starts one: the shadow
   * reads the order as the live run read it, and ends while the live run waits. Then the lead decides as `decide`
   * says and the live run goes on.
   */
  async function refundDecidedBy(
    order: number,
    decide: (approval: { approvalId: string; argumentsHash: string; arguments: unknown }) => Promise<unknown>,
  ): Promise<{ live: string; shadow: string }> {
    const input = `I want a refund for order ${order}`;
    const { run } = await startRun({ store, agent: stable, input, principal: customer });
    const shadow = await startRun({
      store,
      agent: candidate,
      input,
      principal: customer,
      shadowOf: { runId: run.runId },
    });
    worker.poke();
    assert.equal((await settle(run.runId)).status, "suspended");
    assert.equal((await settle(shadow.run.runId)).status, "completed");
    const [pending] = await store.listApprovals({ runId: run.runId, status: "pending" });
    await decide({
      approvalId: pending!.approvalId,
      argumentsHash: pending!.argumentsHash!,
      arguments: pending!.request.arguments,
    });
    worker.poke();
    assert.equal((await settle(run.runId, ["queued", "running", "suspended"])).status, "completed");
    return { live: run.runId, shadow: shadow.run.runId };
  }

  test("gives the candidate's agreement with each person's decision, per tool and per decision", async () => {
    const since = new Date(Date.now() - 1000);
    const approved = await refundDecidedBy(1017, (approval) =>
      decideApproval({
        store,
        approvalId: approval.approvalId,
        input: { decision: "approve", approver: lead, argumentsHash: approval.argumentsHash },
      }),
    );
    await refundDecidedBy(1021, (approval) =>
      decideApproval({
        store,
        approvalId: approval.approvalId,
        input: {
          decision: "approve",
          approver: lead,
          argumentsHash: approval.argumentsHash,
          arguments: { ...(approval.arguments as Record<string, unknown>), amount: "150.00" },
        },
      }),
    );
    await refundDecidedBy(1018, (approval) =>
      decideApproval({
        store,
        approvalId: approval.approvalId,
        input: { decision: "reject", approver: lead, comment: "the parcel was never returned" },
      }),
    );

    // The shadow asked nobody: its journal says what it would have asked, and the refund it did not make.
    const shadowEvents = await store.readEvents({ runId: approved.shadow });
    assert.equal(shadowEvents.filter((event) => event.type === "approval-request").length, 0);
    const refund = shadowEvents.find(
      (event) => event.type === "tool-call-end" && event.payload.tool === "issue_refund",
    );
    assert.ok(refund?.type === "tool-call-end");
    // The live refund was still waiting for the lead: the shadow could not be answered with its result.
    assert.equal(refund.payload.shadowed?.answer, "not-executed");
    assert.equal(refund.payload.error?.code, "shadowed");
    assert.deepEqual(refund.payload.shadowed?.review, {
      kind: "tool-call",
      reasons: ["refunds above 100 need a support lead"],
      policies: refund.payload.shadowed?.review?.policies ?? [],
    });
    assert.equal(
      shadowEvents.some((event) => event.type === "tool-call-start" && event.payload.tool === "issue_refund"),
      false,
    );

    const report = await buildShadowReport({
      sql: store.sql,
      readEvents: (runId) => store.readEvents({ runId }),
      agent: "support-triage",
      tenant: "larkspur",
      stableVersion: stable.version,
      candidateVersion: CANDIDATE,
      since,
    });
    assert.equal(report.pairs, 3);
    assert.equal(report.pending, 0);
    // The candidate would make each refund as first proposed: it agrees with the approval, not with the edit (the
    // lead lowered the amount) nor with the rejection.
    assert.deepEqual(
      report.people.byDecision.map(({ key, compared, agreed }) => [key, compared, agreed]),
      [
        ["approved", 1, 1],
        ["edited", 1, 0],
        ["rejected", 1, 0],
      ],
    );
    assert.deepEqual(
      report.people.byTool.map(({ key, compared, agreed }) => [key, compared, agreed]),
      [["issue_refund", 3, 1]],
    );
    assert.deepEqual(report.people.byKind, [{ key: "tool-call", compared: 3, agreed: 1, rate: 1 / 3 }]);
    // Each live refund was first held for review, and so was each of the candidate's.
    assert.equal(report.policyDecisions.matrix.review?.review, 3);
    assert.equal(report.trajectories.perTool.find((each) => each.tool === "issue_refund")?.sameArguments, 3);
    // The live runs answered after their refunds; the candidate, told its refunds were not executed, did not.
    assert.equal(report.answers.compared, 3);
    assert.equal(report.answers.agreed, 0);
    assert.ok((report.shadowed["not-executed"] ?? 0) >= 3, JSON.stringify(report.shadowed));
    assert.equal(report.stable.runs, 3);
    assert.equal(report.candidate.runs, 3);
    const refunds = await store.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM shop.refunds");
    assert.equal(refunds.rows[0]!.n - (await seededRefunds()), 2, "only the live runs refunded");
  });

  async function seededRefunds(): Promise<number> {
    const { rows } = await store.sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM shop.refunds WHERE idempotency_key NOT LIKE 'run_%'",
    );
    return rows[0]!.n;
  }
});
