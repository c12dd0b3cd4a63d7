import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { decideApproval } from "../src/approvals/decide-approval.ts";
import { createAgentCatalog } from "../src/runtime/agent-catalog.ts";
import { createApp } from "../src/server/create-app.ts";
import { FENCED_APPEND_ONE_SQL } from "../src/store/fenced-append.ts";
import type { SqlStore } from "../src/store/sql-store.ts";
import { approvalRequest } from "./support/approval-decision.ts";
import { type ApprovalScenario, approvalScenario, approver } from "./support/approval-scenario.ts";
import { loggedStores, type StatementLog } from "./support/logged-stores.ts";

/**
 * What an approval costs the store between the decision and the held tool call starting, as the design sets it:
 * one read of the request, then one transaction whose first statement takes the run's lease and reads its journal
 * together, and, the run handed to the in-process worker with the head that commit left, the worker's
 * `tool-call-start` as one fenced statement (no BEGIN, no lock read). A decision path that grows a round trip fails
 * here, not only in the approvals benchmark.
 */
const short = (sql: string) => sql.replace(/\s+/g, " ").trim().slice(0, 90);

for (const { name, open } of loggedStores()) {
  describe(`an approval on ${name}`, () => {
    const log: StatementLog = [];
    const opened: { store?: SqlStore; scenario?: ApprovalScenario } = {};
    after(async () => {
      await opened.scenario?.close();
      await opened.store?.close();
    });

    test("reads the request once, takes the lease with the journal in one statement, the held call starts with one fenced statement, and the run ends with another", async () => {
      const store = await open(log);
      opened.store = store;
      await store.migrate();
      const s = await approvalScenario({ store });
      opened.scenario = s;
      const run = await s.run();
      assert.equal(run.status, "suspended");
      const [pending] = await store.listApprovals({ runId: run.runId, status: "pending" });
      assert.ok(pending);

      // Where the log stood when the held refund ran (the scenario's tool records each refund as it runs).
      let toolStartedAt = -1;
      const record = s.refunds.push.bind(s.refunds);
      s.refunds.push = (...refunds) => {
        toolStartedAt = log.length;
        return record(...refunds);
      };
      const from = log.length;
      const outcome = await decideApproval({
        store,
        approvalId: pending.approvalId,
        input: { decision: "approve", approver: approver("lee"), argumentsHash: pending.argumentsHash! },
        handOff: (lease, journal) => s.worker.adopt(lease, journal),
      });
      assert.equal(outcome.resumed, true);
      // Waiting on the tool itself reads nothing from the store: the log then holds the path's statements only.
      for (let waited = 0; toolStartedAt < 0; waited += 1) {
        assert.ok(waited < 3_000, "the held refund did not start in 30 s");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const statements = log.slice(from, toolStartedAt);
      assert.equal((await s.settle(run.runId)).status, "completed");
      // The resumed run has no parent, so it ends as its other appends go, with the fenced statement: no locking
      // transaction, and no count of an ended child for a parent it does not have.
      const afterTool = log.slice(toolStartedAt).map(short).join("\n");
      assert.doesNotMatch(afterTool, /ORDER BY run_id FOR UPDATE|WITH counts AS/, afterTool);
      assert.equal(s.refunds.length, 1);

      const shown = statements.map(short).join("\n");
      assert.match(statements[0]!, /FROM keel_approvals WHERE approval_id = \$1/, shown);
      assert.equal(statements[1], "BEGIN", shown);
      assert.match(statements[2]!, /^WITH taken AS \(\s*UPDATE keel_runs/, shown);
      assert.match(statements[2]!, /JOIN keel_events/, shown);
      const commit = statements.indexOf("COMMIT");
      assert.ok(commit > 2, shown);
      assert.ok(
        statements.slice(2, commit).every((sql) => !/^\s*SELECT\b.*\bFROM keel_events\b/s.test(sql)),
        `the decision read the journal again:\n${shown}`,
      );
      // Between the decision and the tool running, the worker sent one statement: the fenced `tool-call-start`.
      assert.deepEqual(
        statements.slice(commit + 1),
        [FENCED_APPEND_ONE_SQL],
        `after the decision's COMMIT:\n${shown}`,
      );
      const started = await store.readEvents({ runId: run.runId });
      const resume = started.findIndex((event) => event.type === "run-resume");
      assert.ok(started.slice(resume).some((event) => event.type === "tool-call-start"));
    });

    test("through the API, the authorization gate's read of the request is the decision's only read before its transaction", async () => {
      const store = opened.store!;
      const s = opened.scenario!;
      const run = await s.run();
      const [pending] = await store.listApprovals({ runId: run.runId, status: "pending" });
      assert.ok(pending);
      const app = createApp({
        store,
        agents: createAgentCatalog([s.agent]),
        worker: s.worker,
        principal: { subject: "lee@example.com", tenant: "acme", roles: ["admin"] },
        log: () => undefined,
      });
      const from = log.length;
      const response = await app.request(
        `/v1/approvals/${pending.approvalId}/decision`,
        approvalRequest({ argumentsHash: pending.argumentsHash!, role: "approver:payments-ops" }),
      );
      assert.equal(response.status, 200, await response.text());
      const begin = log.indexOf("BEGIN", from);
      assert.ok(begin > from, "the decision ran a transaction");
      const shown = log
        .slice(from, begin + 1)
        .map(short)
        .join("\n");
      assert.equal(begin - from, 1, `before the decision's transaction:\n${shown}`);
      assert.match(log[from]!, /FROM keel_approvals AS a WHERE approval_id = \$1/, shown);
      assert.match(log[from]!, /SELECT r\.tenant FROM keel_runs/, shown);
      assert.equal((await s.settle(run.runId)).status, "completed");
    });
  });
}
