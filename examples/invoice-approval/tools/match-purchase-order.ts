import { z } from "zod";
import type { SqlClient } from "../../../src/store/store.ts";
import { defineTool } from "../../../src/tools/tool.ts";
import { normaliseVendor, type PurchaseOrderDataset } from "./purchase-orders.ts";

/** How far an invoice may exceed its purchase order (freight and rounding) before it is a mismatch. */
export const AMOUNT_TOLERANCE = 0.02;

export const Problem = z.enum([
  "none",
  "duplicate-invoice",
  "no-purchase-order",
  "purchase-order-closed",
  "vendor-mismatch",
  "currency-mismatch",
  "amount-over-po",
]);

const MatchOutput = z.strictObject({
  problem: Problem,
  reason: z.string(),
  poNumber: z.string(),
  poVendor: z.string().nullable(),
  poAmount: z.number().nullable(),
  contact: z.string().nullable(),
});
type MatchOutput = z.infer<typeof MatchOutput>;

/**
 * `match_purchase_order`: compare an invoice with the purchase order it names — the invoice not paid already,
 * the order open, the same vendor and currency, the total within 2% of the order. It reports the first problem
 * rather than failing, so the workflow routes on it.
 */
export function createMatchPurchaseOrderTool(options: { sql: SqlClient; data: PurchaseOrderDataset }) {
  const { sql, data } = options;
  return defineTool({
    name: "match_purchase_order",
    description:
      "Match an invoice to its purchase order: reports `problem` none, or the first of duplicate-invoice, " +
      "no-purchase-order, purchase-order-closed, vendor-mismatch, currency-mismatch, amount-over-po, with a reason.",
    input: z.strictObject({
      invoiceId: z.string().regex(/^INV-\d{5}$/),
      poNumber: z.string().min(1).max(40),
      vendor: z.string().min(1).max(200),
      currency: z.string().length(3),
      total: z.number().positive(),
    }),
    output: MatchOutput,
    dataClasses: ["internal", "financial"],
    async execute(input, context): Promise<MatchOutput> {
      context.signal.throwIfAborted();
      const order = data.purchaseOrders.find((candidate) => candidate.poNumber === input.poNumber);
      const known = {
        poNumber: input.poNumber,
        poVendor: order?.vendor ?? null,
        poAmount: order?.amount ?? null,
        contact: order?.contact ?? null,
      };
      const result = (problem: z.infer<typeof Problem>, reason: string) => ({ problem, reason, ...known });
      const earlier = data.paidInvoices.find((paid) => paid.invoiceId === input.invoiceId);
      if (earlier) {
        return result(
          "duplicate-invoice",
          `Invoice ${input.invoiceId} was already paid on ${earlier.paidOn}.`,
        );
      }
      const paidHere = (
        await sql.query<{ id: number }>("SELECT id FROM invoice_approval.payments WHERE invoice_id = $1", [
          input.invoiceId,
        ])
      ).rows[0];
      if (paidHere) {
        return result(
          "duplicate-invoice",
          `Invoice ${input.invoiceId} was already paid as ${paymentId(paidHere.id)}.`,
        );
      }
      if (!order) return result("no-purchase-order", `No purchase order ${input.poNumber} exists.`);
      if (order.status !== "open") {
        return result("purchase-order-closed", `Purchase order ${order.poNumber} is ${order.status}.`);
      }
      if (normaliseVendor(order.vendor) !== normaliseVendor(input.vendor)) {
        return result(
          "vendor-mismatch",
          `Purchase order ${order.poNumber} is with ${order.vendor}, not ${input.vendor}.`,
        );
      }
      if (order.currency !== input.currency) {
        return result(
          "currency-mismatch",
          `Purchase order ${order.poNumber} is in ${order.currency}, the invoice in ${input.currency}.`,
        );
      }
      if (input.total > order.amount * (1 + AMOUNT_TOLERANCE) + 1e-9) {
        return result(
          "amount-over-po",
          `The invoice total ${input.total.toFixed(2)} is more than purchase order ${order.poNumber}'s ` +
            `${order.amount.toFixed(2)} ${order.currency} plus ${AMOUNT_TOLERANCE * 100}%.`,
        );
      }
      return result("none", `Matches purchase order ${order.poNumber}.`);
    },
  });
}

/** How a payment row's id is shown. */
export function paymentId(id: number): string {
  return `PAY-${String(id).padStart(6, "0")}`;
}
