/** The agent packages `keel serve` loads by default: the bundled examples (and every agent their workflows run). */
import type { AgentPackage } from "../src/runtime/agent-package.ts";
import { alertTriage } from "./alert-triage/index.ts";
import { invoiceApproval } from "./invoice-approval/index.ts";
import { itHelpdesk, serviceDesk } from "./service-desk/index.ts";
import { supportTriage } from "./support-triage/index.ts";
import { vendorChecks, vendorDiligence } from "./vendor-diligence/index.ts";

export const agentPackages: AgentPackage[] = [
  supportTriage,
  itHelpdesk,
  serviceDesk,
  vendorDiligence,
  ...vendorChecks,
  alertTriage,
  invoiceApproval,
];
