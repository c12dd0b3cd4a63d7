import {
  type BuildContext,
  checkedTemplate,
  type FieldPath,
  isJsonValue,
  report,
} from "./workflow-build-context.ts";
import type { ArgumentValue, NodeCall, NodeCommon } from "./workflow-definition.ts";
import type { WorkflowNodeSpec } from "./workflow-spec.ts";
import type { ItemScope } from "./workflow-state-types.ts";

/** What each kind's builder gets: where the node is, its spec, and what every kind shares. */
export type NodeInput = {
  at: FieldPath;
  spec: WorkflowNodeSpec;
  common: NodeCommon;
  /** The node's `next` when it is a name ("" otherwise). */
  next: string;
  writes: { writes?: string };
};

/** A child run's call: the agent and its input template. */
export function agentCall(
  context: BuildContext,
  call: { name: string; input: string },
  path: FieldPath,
  item: ItemScope | null,
): Extract<NodeCall, { kind: "agent" }> | undefined {
  const input = checkedTemplate(context, call.input, [...path, "input"], item);
  return input && { kind: "agent", agent: call.name, input };
}

/** A tool call: string arguments are templates, other JSON values literals. */
export function toolCall(
  context: BuildContext,
  call: { name: string; args: Record<string, unknown> },
  path: FieldPath,
  item: ItemScope | null,
): Extract<NodeCall, { kind: "tool" }> | undefined {
  const args: Record<string, ArgumentValue> = {};
  for (const [key, value] of Object.entries(call.args)) {
    const argumentPath = [...path, "args", key];
    if (typeof value === "string") {
      args[key] = { kind: "template", template: checkedTemplate(context, value, argumentPath, item) };
    } else if (isJsonValue(value)) {
      args[key] = { kind: "literal", value };
    } else {
      report(context, argumentPath, "expected a template or a JSON value");
    }
  }
  return { kind: "tool", tool: call.name, args };
}

/** A parallel branch or a map's `do`, as written. */
export type StepSpec = NonNullable<WorkflowNodeSpec["map"]>["do"];

/** A parallel branch or a map's body: exactly one call; its output type when known at load. */
export function buildStep(
  context: BuildContext,
  step: StepSpec,
  path: FieldPath,
  item: ItemScope | null,
): { call: NodeCall; output: "string" | undefined } | undefined {
  if ((step.tool === undefined) === (step.agent === undefined)) {
    report(context, path, "a branch makes exactly one call: tool or agent");
    return undefined;
  }
  if (step.agent !== undefined) {
    const call = agentCall(context, step.agent, [...path, "agent"], item);
    return call && { call, output: "string" };
  }
  const call = toolCall(context, step.tool!, [...path, "tool"], item);
  return call && { call, output: undefined };
}
