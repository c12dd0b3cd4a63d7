import { z } from "zod";
import type { SqlClient } from "../../../src/store/store.ts";
import { defineTool } from "../../../src/tools/tool.ts";
import { findOnce, insertOnce } from "./insert-once.ts";
import { OrderId } from "./order-id.ts";

const CreateTicketOutput = z.strictObject({
  ticketId: z.number().int(),
  status: z.enum(["open", "pending", "closed"]),
  priority: z.enum(["low", "normal", "high"]),
  subject: z.string(),
  body: z.string(),
  orderId: z.number().int().nullable(),
  createdAt: z.string(),
});

type TicketRow = {
  id: number;
  status: "open" | "pending" | "closed";
  priority: "low" | "normal" | "high";
  subject: string;
  body: string;
  order_id: number | null;
  created_at: string;
};

const COLUMNS = `id, status, priority, subject, body, order_id,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at`;

/** `create_ticket`: open a ticket for a person on the support team; a retry with the same idempotency key returns the same ticket. */
export function createCreateTicketTool(options: { sql: SqlClient }) {
  const { sql } = options;
  return defineTool({
    name: "create_ticket",
    description:
      "Open a support ticket so a person on the support team follows up with the customer by email. Use it " +
      "for anything you cannot resolve yourself. Write the body so a colleague needs nothing else: what the " +
      "customer asked, what you found and what you tried.",
    input: z.strictObject({
      subject: z.string().trim().min(1).max(200).describe("One line a colleague can triage from."),
      body: z.string().trim().min(1).max(5_000).describe("The customer's request and everything you found."),
      priority: z
        .enum(["low", "normal", "high"])
        .describe("high for money or a customer left without their order, low for general questions."),
      orderId: OrderId.optional().describe("The order the ticket is about, when there is one."),
    }),
    output: CreateTicketOutput,
    sideEffect: true,
    dataClasses: ["internal"],
    async execute(input, context) {
      context.signal.throwIfAborted();
      const ticket = await insertOnce<TicketRow>({
        ...rowOf(input, context.idempotencyKey),
        insert: {
          columns: ["subject", "body", "priority", "order_id"],
          values: [input.subject, input.body, input.priority, input.orderId ?? null],
        },
      });
      return presentTicket(ticket);
    },
    async reconcile(input, context) {
      const ticket = await findOnce<TicketRow>(rowOf(input, context.idempotencyKey));
      return ticket ? { applied: true, result: presentTicket(ticket) } : { applied: false };
    },
  });

  /** Where a ticket of this call lives, and how to tell it is the same request. */
  function rowOf(
    input: { subject: string; body: string; priority: string; orderId?: number | undefined },
    key: string,
  ) {
    return {
      sql,
      table: "shop.tickets",
      columns: COLUMNS,
      idempotencyKey: key,
      what: "ticket",
      matches: (row: TicketRow) =>
        row.subject === input.subject &&
        row.body === input.body &&
        row.priority === input.priority &&
        row.order_id === (input.orderId ?? null),
    };
  }
}

function presentTicket(ticket: TicketRow) {
  return {
    ticketId: ticket.id,
    status: ticket.status,
    priority: ticket.priority,
    subject: ticket.subject,
    body: ticket.body,
    orderId: ticket.order_id,
    createdAt: ticket.created_at,
  };
}
