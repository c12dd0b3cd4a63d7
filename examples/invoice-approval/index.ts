/**
 * The invoice-approval example workflow: a deterministic graph with one bounded decision (reading the invoice),
 * purchase-order matching over a bundled dataset, an approval for large invoices, one payment, a wait for the
 * bank's confirmation signal or a 3-day timer, and a notice to the vendor.
 */
import { join } from "node:path";
import type { AgentPackage } from "../../src/runtime/agent-package.ts";
import { createInvoiceTools } from "./tools/create-invoice-tools.ts";
import { setupLedger } from "./tools/ledger.ts";

export const invoiceApproval = {
  name: "invoice-approval",
  specFile: join(import.meta.dirname, "workflow.yaml"),
  setup: setupLedger,
  createTools: createInvoiceTools,
} satisfies AgentPackage;
