/**
 * The alert-triage example: a planner (a decide node emitting a typed plan) and an executor (a map of governed
 * look-ups over a bundled alert and log dataset) that re-plans once on a failed step, with containment behind an
 * approval.
 */
import { join } from "node:path";
import type { AgentPackage } from "../../src/runtime/agent-package.ts";
import { createAlertTriageTools, setupAlertTriage } from "./tools/containment-tools.ts";

export const alertTriage = {
  name: "alert-triage",
  specFile: join(import.meta.dirname, "workflow.yaml"),
  setup: setupAlertTriage,
  createTools: ({ sql }) => createAlertTriageTools({ sql }),
} satisfies AgentPackage;
