/**
 * The IT helpdesk agent, the service desk's IT specialist: a small agent of its own (spec, tools over a bundled
 * staff directory, offline rules) that the `service-desk` workflow runs as a child run.
 */
import { join } from "node:path";
import type { AgentPackage } from "../../../src/runtime/agent-package.ts";
import { createItTools, setupItHelpdesk } from "./tools/it-tools.ts";

export const itHelpdesk = {
  name: "it-helpdesk",
  specFile: join(import.meta.dirname, "agent.yaml"),
  setup: setupItHelpdesk,
  createTools: createItTools,
} satisfies AgentPackage;
