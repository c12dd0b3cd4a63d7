import { z } from "zod";
import { KeelError } from "../../../src/errors/keel-error.ts";
import type { SqlClient } from "../../../src/store/store.ts";
import { defineTool } from "../../../src/tools/tool.ts";
import { findOnce, insertOnce } from "./ledger.ts";
import type { PurchaseOrderDataset } from "./purchase-orders.ts";

const NoticeOutput = z.strictObject({ noticeId: z.number().int(), to: z.string(), message: z.string() });
type NoticeRow = { id: number; invoice_id: string; payment_id: string; recipient: string; message: string };
const COLUMNS = "id, invoice_id, payment_id, recipient, message";

/** `notify_vendor`: send the vendor's accounts contact a remittance notice for a payment; once per key. */
export function createNotifyVendorTool(options: { sql: SqlClient; data: PurchaseOrderDataset }) {
  const { sql, data } = options;
  const compose = (input: { invoiceId: string; paymentId: string; poNumber: string; confirmed: boolean }) => {
    const order = data.purchaseOrders.find((candidate) => candidate.poNumber === input.poNumber);
    if (!order)
      throw new KeelError("not_found", `No purchase order ${input.poNumber} to find the vendor by.`);
    const message = input.confirmed
      ? `Invoice ${input.invoiceId} was paid (${input.paymentId}) and the bank confirmed the transfer.`
      : `Invoice ${input.invoiceId} was paid (${input.paymentId}); the transfer is on its way.`;
    return { recipient: order.contact, message };
  };
  return defineTool({
    name: "notify_vendor",
    description: "Email the vendor's accounts contact that an invoice was paid. Sends mail outside.",
    input: z.strictObject({
      invoiceId: z.string().regex(/^INV-\d{5}$/),
      paymentId: z.string().regex(/^PAY-\d{6}$/),
      poNumber: z.string().regex(/^PO-\d{4}$/),
      confirmed: z.boolean(),
    }),
    output: NoticeOutput,
    sideEffect: true,
    sendsDataOutside: true,
    dataClasses: ["internal"],
    async execute(input, context) {
      context.signal.throwIfAborted();
      const { recipient, message } = compose(input);
      const row = await insertOnce<NoticeRow>({
        sql,
        table: "invoice_approval.notices",
        columns: COLUMNS,
        values: { invoice_id: input.invoiceId, payment_id: input.paymentId, recipient, message },
        idempotencyKey: context.idempotencyKey,
        matches: (stored) => stored.invoice_id === input.invoiceId && stored.message === message,
      });
      return { noticeId: row.id, to: row.recipient, message: row.message };
    },
    async reconcile(input, context) {
      const { message } = compose(input);
      const row = await findOnce<NoticeRow>({
        sql,
        table: "invoice_approval.notices",
        columns: COLUMNS,
        idempotencyKey: context.idempotencyKey,
        matches: (stored) => stored.invoice_id === input.invoiceId && stored.message === message,
      });
      return row
        ? { applied: true, result: { noticeId: row.id, to: row.recipient, message: row.message } }
        : { applied: false };
    },
  });
}
