/** The agent packages `keel serve` loads by default: the bundled examples. */
import type { AgentPackage } from "../src/runtime/agent-package.ts";
import { invoiceApproval } from "./invoice-approval/index.ts";
import { itHelpdesk, serviceDesk } from "./service-desk/index.ts";
import { supportTriage } from "./support-triage/index.ts";

export const agentPackages: AgentPackage[] = [supportTriage, itHelpdesk, serviceDesk, invoiceApproval];
