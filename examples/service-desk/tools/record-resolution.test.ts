import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callTool, type ShopDatabase, shopDatabaseKinds } from "../../support-triage/test-shop-databases.ts";
import { createRecordResolutionTool, setupServiceDesk } from "./record-resolution.ts";

for (const kind of shopDatabaseKinds()) {
  describe(`the service desk's record_resolution ${kind.name}`, { skip: kind.skip }, () => {
    let database: ShopDatabase;
    before(async () => {
      database = await kind.open();
      await setupServiceDesk(database.sql);
      await setupServiceDesk(database.sql);
    });
    after(async () => {
      await database?.close();
    });

    test("records a case once per key, reconciles by key, and refuses a key reused for another request", async () => {
      const tool = createRecordResolutionTool({ sql: database.sql });
      const args = { team: "it", request: "unlock maya.okafor", answer: "I unlocked maya.okafor." };
      const first = await callTool(tool, args, { idempotencyKey: "k-1" });
      assert.deepEqual(await callTool(tool, args, { idempotencyKey: "k-1" }), first);
      assert.match((first as { caseId: string }).caseId, /^SD-\d{5}$/);
      const context = (idempotencyKey: string) => ({
        runId: "r",
        callId: "c",
        idempotencyKey,
        signal: new AbortController().signal,
      });
      assert.deepEqual(await tool.reconcile!(tool.input.parse(args), context("k-1")), {
        applied: true,
        result: first,
      });
      assert.deepEqual(await tool.reconcile!(tool.input.parse(args), context("k-2")), { applied: false });
      await assert.rejects(
        callTool(tool, { ...args, team: "billing" }, { idempotencyKey: "k-1" }),
        /already used/,
      );
      await assert.rejects(callTool(tool, { ...args, team: "sales" }), /team/);
    });
  });
}
