import type { AgentDefinition } from "../../src/runtime/agent-definition.ts";
import type { WorkflowDefinition } from "../../src/spec/index.ts";
import type { Tool } from "../../src/tools/tool.ts";

/**
 * A workflow bound as the benchmarks run it: its tools, no model (the benchmarked graphs ask none, and a call
 * would fail saying so), and limits wide enough for the run.
 */
export function benchWorkflowAgent(
  workflow: WorkflowDefinition,
  tools: readonly Tool[],
  limits: AgentDefinition["limits"],
): AgentDefinition {
  return {
    name: workflow.name,
    version: workflow.version,
    versionHash: workflow.versionHash,
    description: workflow.description,
    owner: { team: "bench" },
    riskTier: 3,
    system: "",
    provider: {
      provider: "none",
      model: "none",
      offline: true,
      async generate() {
        throw new Error(`workflow ${workflow.name} asks no model in this benchmark`);
      },
    },
    tools: new Map(tools.map((tool) => [tool.name, tool])),
    params: {},
    limits,
    workflow,
  };
}
