import { z } from "zod";
import { formatPath } from "./validate-yaml-source.ts";
import type { JsonSchema, NodeCall, WorkflowDefinition } from "./workflow-definition.ts";
import { schemaType, writeMismatch } from "./workflow-state-types.ts";

/** A problem found when a workflow is bound to its tools: the field path and what is wrong. */
export type ToolBindingIssue = { path: string; message: string };

/**
 * The check a tool's output can only get once the package binds its tools: every tool a node calls is provided,
 * and the JSON type of each tool's output schema (zod; absent: unknown) fits the state field it writes, through
 * that field's reducer. The loader calls it at bind time; the YAML and defineWorkflow checks cannot.
 */
export function checkWorkflowToolOutputs(
  definition: WorkflowDefinition,
  tools: Readonly<Record<string, z.ZodType | undefined>>,
): ToolBindingIssue[] {
  const issues: ToolBindingIssue[] = [];
  const provided = Object.keys(tools);
  const check = (call: NodeCall, writes: string | undefined, path: (string | number)[]) => {
    if (call.kind !== "tool") return;
    if (!Object.hasOwn(tools, call.tool)) {
      const message = `the package provides no tool "${call.tool}" (it provides: ${provided.join(", ") || "none"})`;
      issues.push({ path: formatPath([...path, "tool", "name"]), message });
      return;
    }
    const field = writes === undefined ? undefined : definition.state[writes];
    const schema = tools[call.tool];
    if (writes === undefined || field === undefined || schema === undefined) return;
    const output = schemaType(z.toJSONSchema(schema, { io: "output", unrepresentable: "any" }) as JsonSchema);
    const mismatch = writeMismatch(writes, field, output, `tool ${call.tool}'s output`);
    if (mismatch !== null) issues.push({ path: formatPath([...path, "writes"]), message: mismatch });
  };
  for (const [name, node] of Object.entries(definition.nodes)) {
    const at = ["nodes", name];
    if (node.kind === "tool") check(node.call, node.writes, at);
    if (node.kind === "parallel") {
      for (const branch of node.branches)
        check(branch.call, branch.writes, [...at, "parallel", "branches", branch.name]);
    }
    if (node.kind === "map") check(node.body.call, node.body.writes, [...at, "map", "do"]);
  }
  return issues;
}
