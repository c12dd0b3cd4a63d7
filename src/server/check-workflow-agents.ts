import { KeelError } from "../errors/index.ts";
import type { AgentDefinition } from "../runtime/index.ts";
import type { NodeCall } from "../spec/index.ts";

/**
 * Every agent a served workflow's `agent`, `parallel` or `map` node starts as a child run must be served by the same
 * Keel (any of its workers may then run the child): a name that is not stops the start, naming the node, rather
 * than failing each run that reaches it.
 */
export function checkWorkflowAgents(definitions: readonly AgentDefinition[]): void {
  const served = new Set(definitions.map((definition) => definition.name));
  const problems: string[] = [];
  for (const definition of definitions) {
    const workflow = definition.workflow;
    if (!workflow) continue;
    for (const node of Object.values(workflow.nodes)) {
      const calls: { path: string; call: NodeCall }[] =
        node.kind === "agent"
          ? [{ path: "agent", call: node.call }]
          : node.kind === "parallel"
            ? node.branches.map((branch) => ({ path: `parallel.branches.${branch.name}`, call: branch.call }))
            : node.kind === "map"
              ? [{ path: "map.do", call: node.body.call }]
              : [];
      for (const { path, call } of calls) {
        if (call.kind === "agent" && !served.has(call.agent)) {
          problems.push(
            `nodes.${node.name}.${path}: starts agent ${call.agent}, which this Keel does not serve (serve it beside the workflow)`,
          );
        }
      }
    }
    if (problems.length > 0) {
      throw new KeelError(
        "invalid_spec",
        `workflow ${definition.name} starts agents this Keel does not serve:\n  ${problems.join("\n  ")}`,
      );
    }
  }
}
