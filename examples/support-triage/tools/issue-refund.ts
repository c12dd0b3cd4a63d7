import { z } from "zod";
import { KeelError } from "../../../src/errors/keel-error.ts";
import type { SqlClient } from "../../../src/store/store.ts";
import { defineTool } from "../../../src/tools/tool.ts";
import { formatCents } from "./format-cents.ts";
import { OrderId } from "./order-id.ts";

/** An amount of money as a number or a decimal string ("96.00"), at most two decimals; parsed to integer cents. */
const AmountInCents = z
  .union([
    z.number(),
    z
      .string()
      .trim()
      .regex(/^\d+(\.\d{1,2})?$/, "expected an amount such as 96.00"),
  ])
  .transform((value) => (typeof value === "number" ? value : Number(value)))
  .pipe(
    z
      .number()
      .positive("a refund must be more than 0")
      .max(1_000_000)
      .refine((amount) => Math.abs(amount * 100 - Math.round(amount * 100)) < 1e-6, "at most two decimals"),
  )
  .transform((amount) => Math.round(amount * 100));

const Money = z.string().regex(/^\d+\.\d{2}$/);

const IssueRefundOutput = z.strictObject({
  refundId: z.number().int(),
  orderId: z.number().int(),
  amount: Money,
  currency: z.string(),
  reason: z.string(),
  createdAt: z.string(),
  /** All refunds of the order so far, this one included. */
  refundedAmount: Money,
  remainingAmount: Money,
});

type OrderRow = { id: number; status: string; payment_status: string; currency: string; total_cents: number };
type RefundRow = { id: number; order_id: number; amount_cents: number; reason: string; created_at: string };

const REFUND_COLUMNS = `id, order_id, amount_cents, reason,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at`;

/**
 * `issue_refund`: refund part or all of a paid order to its original payment method. At most one refund per
 * idempotency key; refuses cancelled and unpaid orders and amounts above what is left to refund.
 */
export function createIssueRefundTool(options: { sql: SqlClient }) {
  const { sql } = options;
  return defineTool({
    name: "issue_refund",
    description:
      "Refund money for a paid order to the customer's original payment method. Look the order up with " +
      "get_order first: the amount must not exceed its refundableAmount. Fails for cancelled or unpaid orders.",
    input: z.strictObject({
      orderId: OrderId.describe("The order number, such as 1042."),
      amount: AmountInCents.describe("The amount to refund in the order's currency, such as 96.00."),
      reason: z.string().trim().min(3).max(500).describe("Why, in a sentence the finance team can audit."),
    }),
    output: IssueRefundOutput,
    sideEffect: true,
    dataClasses: ["financial"],
    async execute(input, context) {
      context.signal.throwIfAborted();
      return await sql.transaction(async (transaction) => {
        // The row lock serialises refunds of one order, so two concurrent refunds cannot both pass the limit.
        const order = (
          await transaction.query<OrderRow>(
            "SELECT id, status, payment_status, currency, total_cents FROM shop.orders WHERE id = $1 FOR UPDATE",
            [input.orderId],
          )
        ).rows[0];
        if (!order) throw new KeelError("not_found", `Order ${input.orderId} was not found.`);

        // A retry of a call that already succeeded returns that refund, before any check that it now fails.
        let refund = await refundByKey(transaction, context.idempotencyKey);
        if (!refund) {
          refuseUnlessRefundable(order, input.amount, await refundedCents(transaction, order.id));
          context.signal.throwIfAborted();
          refund = (
            await transaction.query<RefundRow>(
              `INSERT INTO shop.refunds (order_id, amount_cents, reason, idempotency_key)
               VALUES ($1, $2, $3, $4)
               ON CONFLICT (idempotency_key) DO NOTHING
               RETURNING ${REFUND_COLUMNS}`,
              [order.id, input.amount, input.reason, context.idempotencyKey],
            )
          ).rows[0];
          // The key was taken meanwhile by a refund of another order (the row lock covers this order only).
          refund ??= await refundByKey(transaction, context.idempotencyKey);
        }
        if (!refund) throw new KeelError("internal", "The refund was neither issued nor found; try again.");
        if (
          refund.order_id !== order.id ||
          refund.amount_cents !== input.amount ||
          refund.reason !== input.reason
        ) {
          throw new KeelError(
            "conflict",
            `Idempotency key ${context.idempotencyKey} was already used for a different refund (#${refund.id}).`,
          );
        }
        return await presentRefund(transaction, order, refund);
      });
    },
    // Whether an attempt whose outcome was never recorded issued its refund: only the key decides.
    async reconcile(input, context) {
      const refund = await refundByKey(sql, context.idempotencyKey);
      if (!refund) return { applied: false };
      if (
        refund.order_id !== input.orderId ||
        refund.amount_cents !== input.amount ||
        refund.reason !== input.reason
      ) {
        throw new KeelError(
          "conflict",
          `Idempotency key ${context.idempotencyKey} was used for a different refund (#${refund.id}).`,
        );
      }
      const order = (
        await sql.query<OrderRow>(
          "SELECT id, status, payment_status, currency, total_cents FROM shop.orders WHERE id = $1",
          [refund.order_id],
        )
      ).rows[0];
      if (!order)
        throw new KeelError("not_found", `Order ${refund.order_id} of refund #${refund.id} was not found.`);
      return { applied: true, result: await presentRefund(sql, order, refund) };
    },
  });
}

/** The refund as the tool returns it, with what the order has had refunded so far. */
async function presentRefund(sql: SqlClient, order: OrderRow, refund: RefundRow) {
  const refunded = await refundedCents(sql, order.id);
  return {
    refundId: refund.id,
    orderId: order.id,
    amount: formatCents(refund.amount_cents),
    currency: order.currency,
    reason: refund.reason,
    createdAt: refund.created_at,
    refundedAmount: formatCents(refunded),
    remainingAmount: formatCents(Math.max(0, order.total_cents - refunded)),
  };
}

function refuseUnlessRefundable(order: OrderRow, amountCents: number, refunded: number): void {
  if (order.status === "cancelled") {
    throw new KeelError("conflict", `Order ${order.id} was cancelled, so there is no payment to refund.`);
  }
  if (order.payment_status !== "paid") {
    throw new KeelError(
      "conflict",
      `Order ${order.id} has not been paid (payment ${order.payment_status}), so there is nothing to refund.`,
    );
  }
  const remaining = order.total_cents - refunded;
  if (remaining <= 0) {
    throw new KeelError("conflict", `Order ${order.id} has already been refunded in full.`);
  }
  if (amountCents > remaining) {
    throw new KeelError(
      "conflict",
      `A refund of ${formatCents(amountCents)} ${order.currency} is more than the ${formatCents(remaining)} ` +
        `${order.currency} left to refund on order ${order.id} (total ${formatCents(order.total_cents)}, ` +
        `refunded so far ${formatCents(refunded)}).`,
    );
  }
}

async function refundByKey(sql: SqlClient, idempotencyKey: string): Promise<RefundRow | undefined> {
  return (
    await sql.query<RefundRow>(`SELECT ${REFUND_COLUMNS} FROM shop.refunds WHERE idempotency_key = $1`, [
      idempotencyKey,
    ])
  ).rows[0];
}

async function refundedCents(sql: SqlClient, orderId: number): Promise<number> {
  const { rows } = await sql.query<{ cents: number }>(
    "SELECT coalesce(sum(amount_cents), 0)::int AS cents FROM shop.refunds WHERE order_id = $1",
    [orderId],
  );
  return rows[0]?.cents ?? 0;
}
