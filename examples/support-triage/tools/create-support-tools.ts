import type { SqlClient } from "../../../src/store/store.ts";
import type { Tool } from "../../../src/tools/tool.ts";
import { createCreateTicketTool } from "./create-ticket.ts";
import { createGetOrderTool } from "./get-order.ts";
import { createIssueRefundTool } from "./issue-refund.ts";
import { createSearchKbTool } from "./search-kb.ts";
import { createSendEmailTool } from "./send-email.ts";

/** The support-triage agent's tools, over the `shop` schema that `setupShop` creates in the same database. */
export function createSupportTools(options: { sql: SqlClient }): Tool[] {
  return [
    createSearchKbTool(options),
    createGetOrderTool(options),
    createCreateTicketTool(options),
    createIssueRefundTool(options),
    createSendEmailTool(options),
  ];
}
