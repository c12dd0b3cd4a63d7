import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { callTool, type ShopDatabase, shopDatabaseKinds } from "../../support-triage/test-shop-databases.ts";
import { createDiligenceTools, setupVendorDiligence } from "./diligence-tools.ts";

const context = (idempotencyKey: string) => ({
  runId: "r",
  callId: "c",
  idempotencyKey,
  signal: new AbortController().signal,
});

for (const kind of shopDatabaseKinds()) {
  describe(`the vendor-diligence workflow's tools ${kind.name}`, { skip: kind.skip }, () => {
    let database: ShopDatabase;
    before(async () => {
      database = await kind.open();
      await setupVendorDiligence(database.sql);
      await setupVendorDiligence(database.sql);
    });
    after(async () => {
      await database?.close();
    });

    test("get_vendor finds a vendor by id or exact name, and reports an unknown one as not found", async () => {
      const [getVendor] = createDiligenceTools({ sql: database.sql });
      assert.deepEqual(await callTool(getVendor!, { query: " coho winery " }), {
        found: true,
        id: "V-112",
        name: "Coho Winery",
        country: "FR",
      });
      assert.equal(((await callTool(getVendor!, { query: "Coho" })) as { found: boolean }).found, false);
    });

    test("write_report files one report per key saying what it could not check, and reconciles by key", async () => {
      const [, writeReport] = createDiligenceTools({ sql: database.sql });
      const args = {
        vendorId: "V-103",
        vendorName: "Fabrikam Plastics",
        sanctions: "CLEAR: on no list.",
        financials: "CLEAR: profitable.",
        news: "",
        certifications: "CLEAR: valid.",
        unchecked: [{ branch: "news", error: { code: "timeout", message: "the branch ran past 3s" } }],
      };
      const filed = (await callTool(writeReport!, args, { idempotencyKey: "r-1" })) as {
        rating: string;
        summary: string;
      };
      assert.deepEqual(await callTool(writeReport!, args, { idempotencyKey: "r-1" }), filed);
      assert.equal(filed.rating, "incomplete");
      assert.match(filed.summary, /- news: NOT CHECKED \(the branch ran past 3s\)/);
      assert.match(filed.summary, /Could not check: news\./);
      assert.deepEqual(await writeReport!.reconcile!(writeReport!.input.parse(args), context("r-1")), {
        applied: true,
        result: filed,
      });
      assert.deepEqual(await writeReport!.reconcile!(writeReport!.input.parse(args), context("r-2")), {
        applied: false,
      });
      const rows = await database.sql.query("SELECT 1 FROM vendor_diligence.reports");
      assert.equal(rows.rows.length, 1);
    });

    test("set_vendor_status changes a status once per key and refuses a key reused for another change", async () => {
      const [, , setStatus] = createDiligenceTools({ sql: database.sql });
      const first = await callTool(
        setStatus!,
        { vendorId: "V-101", status: "approved" },
        { idempotencyKey: "s-1" },
      );
      assert.deepEqual(
        await callTool(setStatus!, { vendorId: "V-101", status: "approved" }, { idempotencyKey: "s-1" }),
        first,
      );
      await assert.rejects(
        callTool(setStatus!, { vendorId: "V-101", status: "blocked" }, { idempotencyKey: "s-1" }),
        /already used/,
      );
      await assert.rejects(
        callTool(setStatus!, { vendorId: "V-999", status: "approved" }),
        /No vendor V-999/,
      );
    });
  });
}
