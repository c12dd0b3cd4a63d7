import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Tool } from "../../../src/tools/tool.ts";
import { callTool, type ShopDatabase, shopDatabaseKinds } from "../../support-triage/test-shop-databases.ts";
import { createInvoiceTools } from "./create-invoice-tools.ts";
import { setupLedger } from "./ledger.ts";

const reconcileContext = (idempotencyKey: string) => ({
  runId: "run_test",
  callId: "call_test",
  idempotencyKey,
  signal: new AbortController().signal,
});

for (const kind of shopDatabaseKinds()) {
  describe(`the invoice-approval tools ${kind.name}`, { skip: kind.skip }, () => {
    let database: ShopDatabase;
    let tools: Map<string, Tool>;
    const tool = (name: string) => tools.get(name)!;
    before(async () => {
      database = await kind.open();
      await setupLedger(database.sql);
      await setupLedger(database.sql);
      tools = new Map(createInvoiceTools({ sql: database.sql }).map((entry) => [entry.name, entry]));
    });
    after(async () => {
      await database?.close();
    });

    const invoice = (
      invoiceId: string,
      poNumber: string,
      vendor: string,
      total: number,
      currency = "USD",
    ) => ({
      invoiceId,
      poNumber,
      vendor,
      currency,
      total,
    });

    test("match reports the first problem an invoice has with its purchase order, or none", async () => {
      const problems = [];
      for (const args of [
        invoice("INV-80001", "PO-1001", "acme supply co.", 4896),
        invoice("INV-50001", "PO-1001", "Acme Supply Co", 10),
        invoice("INV-80002", "PO-4040", "Acme Supply Co", 10),
        invoice("INV-80003", "PO-1007", "Granite Security", 10),
        invoice("INV-80004", "PO-1001", "Acme Supplies", 10),
        invoice("INV-80005", "PO-1006", "Fjord Software AS", 10, "USD"),
        invoice("INV-80006", "PO-1001", "Acme Supply Co", 4896.01),
      ]) {
        problems.push(((await callTool(tool("match_purchase_order"), args)) as { problem: string }).problem);
      }
      assert.deepEqual(problems, [
        "none",
        "duplicate-invoice",
        "no-purchase-order",
        "purchase-order-closed",
        "vendor-mismatch",
        "currency-mismatch",
        "amount-over-po",
      ]);
    });

    test("pay sends one payment per key, refuses a second payment of the invoice, and reconciles by key", async () => {
      const args = {
        invoiceId: "INV-80010",
        poNumber: "PO-1012",
        vendor: "Lumen Electric",
        currency: "USD",
        amount: 560.5,
      };
      const first = await callTool(tool("pay_invoice"), args, { idempotencyKey: "pay-1" });
      const again = await callTool(tool("pay_invoice"), args, { idempotencyKey: "pay-1" });
      assert.deepEqual(again, first);
      assert.equal((first as { amount: string }).amount, "560.50");
      await assert.rejects(
        callTool(tool("pay_invoice"), args, { idempotencyKey: "pay-2" }),
        /already paid as PAY-/,
      );
      await assert.rejects(
        callTool(tool("pay_invoice"), { ...args, amount: 1 }, { idempotencyKey: "pay-1" }),
        /already used for a different request/,
      );
      const input = tool("pay_invoice").input.parse(args);
      assert.deepEqual(await tool("pay_invoice").reconcile!(input, reconcileContext("pay-1")), {
        applied: true,
        result: first,
      });
      assert.deepEqual(await tool("pay_invoice").reconcile!(input, reconcileContext("pay-3")), {
        applied: false,
      });
      const matched = await callTool(
        tool("match_purchase_order"),
        invoice("INV-80010", "PO-1012", "Lumen Electric", 560.5),
      );
      assert.equal((matched as { problem: string }).problem, "duplicate-invoice");
    });

    test("notify writes the vendor's contact once per key; an exception is opened once per key", async () => {
      const args = { invoiceId: "INV-80011", paymentId: "PAY-000001", poNumber: "PO-1006", confirmed: false };
      const sent = await callTool(tool("notify_vendor"), args, { idempotencyKey: "notice-1" });
      assert.deepEqual(await callTool(tool("notify_vendor"), args, { idempotencyKey: "notice-1" }), sent);
      assert.equal((sent as { to: string }).to, "faktura@fjord-software.example");
      await assert.rejects(
        callTool(tool("notify_vendor"), { ...args, poNumber: "PO-9999" }, { idempotencyKey: "notice-2" }),
        /No purchase order PO-9999/,
      );
      const opened = await callTool(
        tool("open_exception"),
        { invoiceId: "unknown", kind: "unreadable", reason: "could not read it" },
        { idempotencyKey: "exception-1" },
      );
      const repeated = await callTool(
        tool("open_exception"),
        { invoiceId: "unknown", kind: "unreadable", reason: "could not read it" },
        { idempotencyKey: "exception-1" },
      );
      assert.deepEqual(repeated, opened);
      const rows = await database.sql.query("SELECT 1 FROM invoice_approval.exceptions");
      assert.equal(rows.rows.length, 1);
    });
  });
}
