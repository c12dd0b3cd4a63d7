import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import {
  type ApprovalScenario,
  approvalScenario,
  approver,
  REFUND_REVIEW,
} from "../../test/support/approval-scenario.ts";
import { testStores } from "../../test/support/test-database.ts";
import { decideApproval } from "../approvals/index.ts";
import { autonomyCommand } from "../cli/autonomy-command.ts";
import { createKeelClient } from "../client/index.ts";
import type { AutonomyReport } from "../rollout/index.ts";
import { governedTools } from "../runtime/governed-tools.ts";
import { createAgentCatalog } from "../runtime/index.ts";
import { GovernanceSection } from "../spec/index.ts";
import { createApp } from "./create-app.ts";

/** The scenario's governance, with the evidence threshold declared in the spec: 90% over at least 50 decisions. */
const GOVERNANCE = GovernanceSection.parse({
  ...REFUND_REVIEW,
  autonomy: { threshold: 0.9, minDecisions: 50 },
});

for (const backend of testStores()) {
  describe(`autonomy proposals from approval history (${backend.name})`, () => {
    let scenario: ApprovalScenario | undefined;
    after(async () => {
      await scenario?.close();
      await scenario?.store.close();
    });

    test("a class of held calls is proposed as autonomous only past the declared evidence, and nothing is applied", async () => {
      const store = await backend.open();
      const s = await approvalScenario({ store });
      scenario = s;
      await s.governor.load({
        name: s.agent.name,
        version: s.agent.version,
        governance: GOVERNANCE,
        tools: governedTools(s.agent.tools.values()),
        policyFiles: [],
      });
      const loadedBefore = s.governor.loaded(s.agent.name, s.agent.version)!;
      const app = createApp({
        store,
        agents: createAgentCatalog([{ ...s.agent, tenant: "acme" }]),
        governor: s.governor,
        principal: { subject: "viewer@example.com", tenant: "acme", roles: ["viewer"] },
        log: () => undefined,
      });
      const report = async (): Promise<AutonomyReport> => {
        const response = await app.request(`/v1/agents/${s.agent.name}/autonomy`);
        assert.equal(response.status, 200, await response.clone().text());
        return (await response.json()) as AutonomyReport;
      };
      // The CLI over the typed client, which checks each answer against the route's declared schema.
      const client = createKeelClient({
        baseUrl: "http://localhost",
        fetch: async (url, init) => await app.request(String(url), init),
        checkAnswers: true,
      });
      const cli = async (): Promise<string> => {
        const lines: string[] = [];
        const io = { out: (text: string) => lines.push(text), err: () => undefined, env: {}, isTty: false };
        assert.equal(await autonomyCommand({ client, io, agent: s.agent.name, json: false }), 0);
        return lines.join("\n");
      };
      const holdAndApprove = async () => {
        const run = await s.run();
        assert.equal(run.status, "suspended");
        const [pending] = await store.listApprovals({ runId: run.runId, status: "pending" });
        await decideApproval({
          store,
          approvalId: pending!.approvalId,
          input: { decision: "approve", approver: approver("lee"), argumentsHash: pending!.argumentsHash! },
        });
        assert.equal((await s.settle(run.runId)).status, "completed");
      };

      for (let i = 0; i < 49; i++) await holdAndApprove();
      const early = await report();
      assert.deepEqual(early.settings, { threshold: 0.9, minDecisions: 50, confidence: 0.95 });
      assert.deepEqual(early.proposals, []);
      assert.equal(early.classes.length, 1);
      assert.equal(early.classes[0]!.decided, 49);
      assert.equal(early.classes[0]!.approvedUnchanged, 49);
      assert.equal(early.classes[0]!.status, "not enough decisions");
      // 49 of 49 already clears the rate (lower bound 92.7%): only the declared count holds the proposal back.
      assert.ok(early.classes[0]!.interval.low > 0.9);
      assert.match(await cli(), /49 of 49 approved unchanged .*: not enough decisions\nno proposals$/);

      await holdAndApprove();
      const enough = await report();
      assert.equal(enough.proposals.length, 1);
      const [proposal] = enough.proposals;
      assert.equal(proposal!.kind, "make-autonomous");
      assert.equal(proposal!.tool, "refund");
      assert.equal(proposal!.evidence.decided, 50);
      assert.ok(proposal!.evidence.interval.low >= 0.9);
      assert.match(proposal!.reason, /^50 of 50 held calls were approved unchanged/);
      assert.equal(proposal!.path, "governance.decisionAuthority");
      assert.match(proposal!.diff, /^-\s+requiresHumanReview:\n/m);
      assert.match(proposal!.diff, /^\+\s+- refund$/m);
      const printed = await cli();
      assert.match(
        printed,
        /^make-autonomous refund outside its autonomous conditions and refund when input\.amount > 100: 50 of 50/m,
      );
      assert.ok(printed.includes(proposal!.diff));

      // Nothing was applied: the governor enforces the same section and policies, and the next call is still held.
      const loadedAfter = s.governor.loaded(s.agent.name, s.agent.version)!;
      assert.equal(loadedAfter.generation, loadedBefore.generation);
      assert.deepEqual(loadedAfter.governance, GOVERNANCE);
      assert.deepEqual([...loadedAfter.info.keys()], [...loadedBefore.info.keys()]);
      const next = await s.run();
      assert.equal(next.status, "suspended");
      const [held] = await store.listApprovals({ runId: next.runId, status: "pending" });
      assert.equal(held?.tool, "refund");
      assert.equal(s.refunds.length, 50);
    });
  });
}
