import { z } from "zod";
import type { SqlClient } from "../../../src/store/store.ts";
import { defineTool } from "../../../src/tools/tool.ts";
import { findOnce, insertOnce } from "./insert-once.ts";

const SendEmailOutput = z.strictObject({
  emailId: z.number().int(),
  to: z.string(),
  subject: z.string(),
  status: z.enum(["queued", "sent", "failed"]),
  queuedAt: z.string(),
});

type EmailRow = {
  id: number;
  recipient: string;
  subject: string;
  body: string;
  status: "queued" | "sent" | "failed";
  created_at: string;
};

const COLUMNS = `id, recipient, subject, body, status,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at`;

/**
 * `send_email`: queue an email to a customer in `shop.outbox_emails`. Nothing is sent from here; the outbox row
 * is the side effect, written at most once per idempotency key.
 */
export function createSendEmailTool(options: { sql: SqlClient }) {
  const { sql } = options;
  return defineTool({
    name: "send_email",
    description:
      "Email the customer, for example a summary of what was done or instructions they asked for. The email " +
      "is queued and delivered shortly; never include passwords or full payment card numbers.",
    input: z.strictObject({
      to: z.email().max(320).describe("The customer's email address."),
      subject: z.string().trim().min(1).max(200),
      body: z.string().trim().min(1).max(20_000).describe("Plain text."),
    }),
    output: SendEmailOutput,
    sideEffect: true,
    dataClasses: ["internal"],
    sendsDataOutside: true,
    async execute(input, context) {
      context.signal.throwIfAborted();
      const email = await insertOnce<EmailRow>({
        ...rowOf(input, context.idempotencyKey),
        insert: { columns: ["recipient", "subject", "body"], values: [input.to, input.subject, input.body] },
      });
      return presentEmail(email);
    },
    async reconcile(input, context) {
      const email = await findOnce<EmailRow>(rowOf(input, context.idempotencyKey));
      return email ? { applied: true, result: presentEmail(email) } : { applied: false };
    },
  });

  /** Where an email of this call lives, and how to tell it is the same request. */
  function rowOf(input: { to: string; subject: string; body: string }, key: string) {
    return {
      sql,
      table: "shop.outbox_emails",
      columns: COLUMNS,
      idempotencyKey: key,
      what: "email",
      matches: (row: EmailRow) =>
        row.recipient === input.to && row.subject === input.subject && row.body === input.body,
    };
  }
}

function presentEmail(email: EmailRow) {
  return {
    emailId: email.id,
    to: email.recipient,
    subject: email.subject,
    status: email.status,
    queuedAt: email.created_at,
  };
}
