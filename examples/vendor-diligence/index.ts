/**
 * The vendor-diligence example: an orchestrator workflow fanning out to four check agents (child runs) in parallel,
 * one of which is slow for some vendors and times out; the report says what could not be checked. Every check agent
 * the workflow names is served beside it.
 */
import { join } from "node:path";
import type { AgentPackage } from "../../src/runtime/agent-package.ts";
import type { Tool } from "../../src/tools/tool.ts";
import {
  createGetCertificationsTool,
  createGetFinancialsTool,
  createScreenSanctionsTool,
  createSearchNewsTool,
} from "./tools/check-tools.ts";
import { createDiligenceTools, setupVendorDiligence } from "./tools/diligence-tools.ts";
import { readVendorData, type VendorData } from "./tools/vendor-data.ts";

export const vendorDiligence = {
  name: "vendor-diligence",
  specFile: join(import.meta.dirname, "workflow.yaml"),
  setup: setupVendorDiligence,
  createTools: createDiligenceTools,
} satisfies AgentPackage;

function checkAgent(check: string, createTool: (data: VendorData) => Tool): AgentPackage {
  return {
    name: `${check}-check`,
    specFile: join(import.meta.dirname, "checks", check, "agent.yaml"),
    createTools: () => [createTool(readVendorData())],
  };
}

/** The four check agents the workflow's parallel node runs. */
export const vendorChecks: AgentPackage[] = [
  checkAgent("sanctions", createScreenSanctionsTool),
  checkAgent("financials", createGetFinancialsTool),
  checkAgent("news", (data) => createSearchNewsTool(data)),
  checkAgent("certifications", createGetCertificationsTool),
];
