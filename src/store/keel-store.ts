import type { ApprovalQueries } from "./approval-store.ts";
import type { AuditQueries } from "./audit-store.ts";
import type { Store } from "./store.ts";

/** Everything Keel assembles on: runs and journals, the approval queue, the audit log. The SQL stores are one. */
export type KeelStore = Store & ApprovalQueries & AuditQueries;
