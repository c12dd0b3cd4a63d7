import { z } from "zod";
import type { SqlClient } from "../../../src/store/store.ts";
import { defineTool } from "../../../src/tools/tool.ts";
import { findOnce, insertOnce } from "./ledger.ts";
import { Problem } from "./match-purchase-order.ts";

const Kind = z.enum([
  ...Problem.options.filter((problem) => problem !== "none"),
  "unreadable",
  "approval-overdue",
]);
const ExceptionOutput = z.strictObject({
  exceptionId: z.string(),
  queue: z.literal("ap-exceptions"),
  kind: Kind,
  reason: z.string(),
});
type ExceptionRow = { id: number; invoice_id: string; kind: string; reason: string };
const COLUMNS = "id, invoice_id, kind, reason";

/** `open_exception`: put an invoice on the accounts payable exceptions queue for a person; once per key. */
export function createOpenExceptionTool(options: { sql: SqlClient }) {
  const { sql } = options;
  const present = (row: ExceptionRow) => ({
    exceptionId: `APX-${String(row.id).padStart(5, "0")}`,
    queue: "ap-exceptions" as const,
    kind: row.kind as z.infer<typeof Kind>,
    reason: row.reason,
  });
  return defineTool({
    name: "open_exception",
    description:
      "Open an accounts payable exception (a task for a person) about an invoice, with its kind and reason.",
    input: z.strictObject({
      invoiceId: z.string().min(1).max(40),
      kind: Kind,
      reason: z.string().min(3).max(500),
    }),
    output: ExceptionOutput,
    sideEffect: true,
    dataClasses: ["internal"],
    async execute(input, context) {
      context.signal.throwIfAborted();
      const row = await insertOnce<ExceptionRow>({
        sql,
        table: "invoice_approval.exceptions",
        columns: COLUMNS,
        values: { invoice_id: input.invoiceId, kind: input.kind, reason: input.reason },
        idempotencyKey: context.idempotencyKey,
        matches: (stored) => stored.invoice_id === input.invoiceId && stored.kind === input.kind,
      });
      return present(row);
    },
    async reconcile(input, context) {
      const row = await findOnce<ExceptionRow>({
        sql,
        table: "invoice_approval.exceptions",
        columns: COLUMNS,
        idempotencyKey: context.idempotencyKey,
        matches: (stored) => stored.invoice_id === input.invoiceId && stored.kind === input.kind,
      });
      return row ? { applied: true, result: present(row) } : { applied: false };
    },
  });
}
