import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { decideApproval } from "../../src/approvals/decide-approval.ts";
import { startRun } from "../../src/runtime/start-run.ts";
import { createKeel, type Keel } from "../../src/server/create-keel.ts";
import type { RunRecord } from "../../src/store/run-record.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";
import { testStores } from "../../test/support/test-database.ts";
import { ticketDesk } from "./index.ts";

for (const kind of testStores()) {
  describe(`the mcp-tickets example on ${kind.name}: every tool from a stdio MCP server, offline`, () => {
    let store: SqlStore;
    let keel: Keel;

    const run = async (input: string): Promise<RunRecord> => {
      const { run } = await startRun({
        store,
        agent: keel.agents.current("ticket-desk")!,
        input,
        principal: { subject: "ana", tenant: "default", roles: ["employee"] },
      });
      keel.worker.poke();
      return await settled(run.runId);
    };
    const settled = async (runId: string): Promise<RunRecord> => {
      let current = (await store.getRun(runId))!;
      for (let attempt = 0; attempt < 800 && ["queued", "running"].includes(current.status); attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        current = (await store.getRun(runId))!;
      }
      return current;
    };

    before(async () => {
      store = await kind.open();
      keel = await createKeel({ store, agents: [ticketDesk], env: {}, log: () => undefined, api: false });
    });
    after(async () => {
      await keel.close();
      await store.close();
    });

    test("looks a ticket up through the server, and opens one only after a person approves", async () => {
      const looked = await run("Is T-1001 still open?");
      assert.equal(looked.status, "completed", JSON.stringify(looked.error));
      assert.equal(looked.answer, "Ticket T-1001 (VPN drops every hour) is open.");

      const held = await run("My monitor flickers");
      assert.equal(held.status, "suspended");
      const [approval] = await store.listApprovals({ runId: held.runId });
      assert.ok(approval);
      await decideApproval({
        store,
        approvalId: approval.approvalId,
        input: {
          decision: "approve",
          approver: { subject: "lead", tenant: "default", roles: ["approver:it-support"] },
          argumentsHash: approval.argumentsHash!,
        },
      });
      keel.worker.poke();
      const opened = await settled(held.runId);
      assert.equal(opened.status, "completed", JSON.stringify(opened.error));
      assert.match(opened.answer ?? "", /^I opened T-\d{4} for you\.$/);
    });
  });
}
