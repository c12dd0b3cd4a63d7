import { z } from "zod";
import { KeelError } from "../../../src/errors/keel-error.ts";
import type { SqlClient } from "../../../src/store/store.ts";
import { defineTool } from "../../../src/tools/tool.ts";
import { formatCents } from "./format-cents.ts";
import { OrderId } from "./order-id.ts";

const Money = z.string().regex(/^\d+\.\d{2}$/);
const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

const GetOrderOutput = z.strictObject({
  orderId: z.number().int(),
  status: z.enum(["processing", "shipped", "delivered", "cancelled"]),
  paymentStatus: z.enum(["pending", "paid", "voided"]),
  placedOn: Day,
  shippedOn: Day.nullable(),
  deliveredOn: Day.nullable(),
  cancelledOn: Day.nullable(),
  carrier: z.string().nullable(),
  trackingNumber: z.string().nullable(),
  currency: z.string(),
  items: z.array(
    z.strictObject({
      sku: z.string(),
      name: z.string(),
      quantity: z.number().int(),
      unitPrice: Money,
      lineTotal: Money,
    }),
  ),
  total: Money,
  refundedAmount: Money,
  /** Total minus refunds so far; issue_refund still refuses cancelled and unpaid orders. */
  refundableAmount: Money,
  customerFirstName: z.string(),
});

type OrderRow = {
  id: number;
  status: "processing" | "shipped" | "delivered" | "cancelled";
  payment_status: "pending" | "paid" | "voided";
  placed_on: string;
  shipped_on: string | null;
  delivered_on: string | null;
  cancelled_on: string | null;
  carrier: string | null;
  tracking_number: string | null;
  currency: string;
  total_cents: number;
  refunded_cents: number;
  first_name: string;
};
type ItemRow = { sku: string; name: string; quantity: number; unit_price_cents: number };

// Dates are formatted in SQL, in UTC, because pg and PGlite map `date` and `timestamptz` to JS Dates differently.
const day = (column: string) => `to_char(o.${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;

/** `get_order`: an order's status, shipping, items and refunds so far, read from the shop database. */
export function createGetOrderTool(options: { sql: SqlClient }) {
  const { sql } = options;
  return defineTool({
    name: "get_order",
    description:
      "Look up one order by its number: status, payment status, dates, carrier and tracking number, items, " +
      "total, amount refunded so far and the amount still refundable, and the customer's first name. " +
      "Fails when no order has that number.",
    input: z.strictObject({ orderId: OrderId.describe("The order number, such as 1042.") }),
    output: GetOrderOutput,
    // The customer's first name is personal data: an agent needs `dataAccess.allowPii` to call this tool.
    dataClasses: ["internal", "pii"],
    async execute(input, context) {
      context.signal.throwIfAborted();
      const order = (
        await sql.query<OrderRow>(
          `SELECT o.id, o.status, o.payment_status, o.carrier, o.tracking_number, o.currency, o.total_cents,
                  ${day("placed_at")} AS placed_on, ${day("shipped_at")} AS shipped_on,
                  ${day("delivered_at")} AS delivered_on, ${day("cancelled_at")} AS cancelled_on,
                  c.first_name,
                  (SELECT coalesce(sum(r.amount_cents), 0)::int FROM shop.refunds r WHERE r.order_id = o.id)
                    AS refunded_cents
           FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id
           WHERE o.id = $1`,
          [input.orderId],
        )
      ).rows[0];
      if (!order) {
        throw new KeelError("not_found", `Order ${input.orderId} was not found.`);
      }
      context.signal.throwIfAborted();
      const items = (
        await sql.query<ItemRow>(
          "SELECT sku, name, quantity, unit_price_cents FROM shop.order_items WHERE order_id = $1 ORDER BY line_no",
          [input.orderId],
        )
      ).rows;
      context.signal.throwIfAborted();
      return {
        orderId: order.id,
        status: order.status,
        paymentStatus: order.payment_status,
        placedOn: order.placed_on,
        shippedOn: order.shipped_on,
        deliveredOn: order.delivered_on,
        cancelledOn: order.cancelled_on,
        carrier: order.carrier,
        trackingNumber: order.tracking_number,
        currency: order.currency,
        items: items.map((item) => ({
          sku: item.sku,
          name: item.name,
          quantity: item.quantity,
          unitPrice: formatCents(item.unit_price_cents),
          lineTotal: formatCents(item.quantity * item.unit_price_cents),
        })),
        total: formatCents(order.total_cents),
        refundedAmount: formatCents(order.refunded_cents),
        refundableAmount: formatCents(Math.max(0, order.total_cents - order.refunded_cents)),
        customerFirstName: order.first_name,
      };
    },
  });
}
