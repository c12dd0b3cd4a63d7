/**
 * The service-desk example: a router workflow that sends each request to a specialist agent — support-triage for
 * billing and shipping, it-helpdesk for IT — as a child run, records the resolution, and hands the rest to a person.
 * Every agent the workflow names must be served beside it: support-triage and it-helpdesk.
 */
import { join } from "node:path";
import type { AgentPackage } from "../../src/runtime/agent-package.ts";
import { createRecordResolutionTool, setupServiceDesk } from "./tools/record-resolution.ts";

export { itHelpdesk } from "./it-helpdesk/index.ts";

export const serviceDesk = {
  name: "service-desk",
  specFile: join(import.meta.dirname, "workflow.yaml"),
  setup: setupServiceDesk,
  createTools: ({ sql }) => [createRecordResolutionTool({ sql })],
} satisfies AgentPackage;
