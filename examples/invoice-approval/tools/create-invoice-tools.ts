import type { SqlClient } from "../../../src/store/store.ts";
import type { Tool } from "../../../src/tools/tool.ts";
import { createMatchPurchaseOrderTool } from "./match-purchase-order.ts";
import { createNotifyVendorTool } from "./notify-vendor.ts";
import { createOpenExceptionTool } from "./open-exception.ts";
import { createPayInvoiceTool } from "./pay-invoice.ts";
import { readPurchaseOrders } from "./purchase-orders.ts";

/** The invoice-approval workflow's tools: the bundled purchase orders, and its ledger in the store. */
export function createInvoiceTools(options: { sql: SqlClient }): Tool[] {
  const data = readPurchaseOrders();
  return [
    createMatchPurchaseOrderTool({ sql: options.sql, data }),
    createPayInvoiceTool(options),
    createNotifyVendorTool({ sql: options.sql, data }),
    createOpenExceptionTool(options),
  ];
}
