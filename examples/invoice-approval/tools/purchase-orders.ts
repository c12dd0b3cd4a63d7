import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const PurchaseOrder = z.strictObject({
  poNumber: z.string(),
  vendor: z.string(),
  contact: z.string(),
  amount: z.number(),
  currency: z.enum(["USD", "EUR", "GBP"]),
  status: z.enum(["open", "closed"]),
});
export type PurchaseOrder = z.infer<typeof PurchaseOrder>;

const Dataset = z.strictObject({
  purchaseOrders: z.array(PurchaseOrder),
  paidInvoices: z.array(z.strictObject({ invoiceId: z.string(), poNumber: z.string(), paidOn: z.string() })),
});
export type PurchaseOrderDataset = z.infer<typeof Dataset>;

/** The bundled purchase orders and the invoices paid before this workflow ran (`../data/purchase-orders.json`). */
export function readPurchaseOrders(): PurchaseOrderDataset {
  const file = join(import.meta.dirname, "..", "data", "purchase-orders.json");
  return Dataset.parse(JSON.parse(readFileSync(file, "utf8")));
}

/** A vendor name compared without case, punctuation or repeated spaces ("ACME Supply Co." is "Acme Supply Co"). */
export function normaliseVendor(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9&]+/g, " ")
    .trim();
}
