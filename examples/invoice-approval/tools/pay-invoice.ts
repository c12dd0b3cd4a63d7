import { z } from "zod";
import { KeelError } from "../../../src/errors/keel-error.ts";
import type { SqlClient } from "../../../src/store/store.ts";
import { defineTool } from "../../../src/tools/tool.ts";
import { findOnce } from "./ledger.ts";
import { paymentId } from "./match-purchase-order.ts";

const PaymentOutput = z.strictObject({
  paymentId: z.string(),
  invoiceId: z.string(),
  amount: z.string().regex(/^\d+\.\d{2}$/),
  currency: z.string(),
  status: z.literal("sent"),
});

type PaymentRow = {
  id: number;
  invoice_id: string;
  po_number: string;
  vendor: string;
  amount_cents: string | number;
  currency: string;
};
const COLUMNS = "id, invoice_id, po_number, vendor, amount_cents, currency";

const PayInput = z.strictObject({
  invoiceId: z.string().regex(/^INV-\d{5}$/),
  poNumber: z.string().regex(/^PO-\d{4}$/),
  vendor: z.string().min(1).max(200),
  currency: z.enum(["USD", "EUR", "GBP"]),
  amount: z
    .number()
    .positive()
    .max(10_000_000)
    .refine((amount) => Math.abs(amount * 100 - Math.round(amount * 100)) < 1e-6, "at most two decimals"),
});
type PayInput = z.infer<typeof PayInput>;

/**
 * `pay_invoice`: send the payment of an invoice to the vendor. At most one payment per idempotency key and per
 * invoice: a retry returns the payment already sent, and paying an invoice paid under another key is a conflict.
 */
export function createPayInvoiceTool(options: { sql: SqlClient }) {
  const { sql } = options;
  const matches = (input: PayInput) => (row: PaymentRow) =>
    row.invoice_id === input.invoiceId &&
    Number(row.amount_cents) === Math.round(input.amount * 100) &&
    row.currency === input.currency;
  return defineTool({
    name: "pay_invoice",
    description:
      "Pay an invoice to its vendor by bank transfer. Sends money: once per invoice; fails when the invoice " +
      "was already paid under another request.",
    input: PayInput,
    output: PaymentOutput,
    sideEffect: true,
    dataClasses: ["financial"],
    async execute(input, context) {
      context.signal.throwIfAborted();
      return await sql.transaction(async (transaction) => {
        // One invoice's payments are serialised, so two requests cannot both pass the "not paid yet" check.
        await transaction.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`invoice:${input.invoiceId}`]);
        const existing = await findOnce<PaymentRow>({
          sql: transaction,
          table: "invoice_approval.payments",
          columns: COLUMNS,
          idempotencyKey: context.idempotencyKey,
          matches: matches(input),
        });
        if (existing) return present(existing);
        const other = (
          await transaction.query<{ id: number }>(
            "SELECT id FROM invoice_approval.payments WHERE invoice_id = $1",
            [input.invoiceId],
          )
        ).rows[0];
        if (other) {
          throw new KeelError(
            "conflict",
            `Invoice ${input.invoiceId} was already paid as ${paymentId(other.id)}; it is not paid twice.`,
          );
        }
        context.signal.throwIfAborted();
        const row = (
          await transaction.query<PaymentRow>(
            `INSERT INTO invoice_approval.payments
               (idempotency_key, invoice_id, po_number, vendor, amount_cents, currency)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
            [
              context.idempotencyKey,
              input.invoiceId,
              input.poNumber,
              input.vendor,
              Math.round(input.amount * 100),
              input.currency,
            ],
          )
        ).rows[0]!;
        return present(row);
      });
    },
    // Whether an attempt whose outcome was never recorded sent the payment: only the key decides.
    async reconcile(input, context) {
      const row = await findOnce<PaymentRow>({
        sql,
        table: "invoice_approval.payments",
        columns: COLUMNS,
        idempotencyKey: context.idempotencyKey,
        matches: matches(input),
      });
      return row ? { applied: true, result: present(row) } : { applied: false };
    },
  });
}

function present(row: PaymentRow) {
  const cents = Number(row.amount_cents);
  return {
    paymentId: paymentId(row.id),
    invoiceId: row.invoice_id,
    amount: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`,
    currency: row.currency,
    status: "sent" as const,
  };
}
