import { buildDecide } from "./build-decide-node.ts";
import { buildMap, buildParallel } from "./build-fan-out-node.ts";
import { agentCall, type NodeInput, toolCall } from "./build-node-call.ts";
import {
  type BuildContext,
  checkedCondition,
  checkedTemplate,
  checkWrite,
  type FieldPath,
  readJsonSchema,
  report,
} from "./workflow-build-context.ts";
import type { BranchCaseDefinition, NodeCommon, WaitCondition, WorkflowNode } from "./workflow-definition.ts";
import type { WorkflowNodeSpec } from "./workflow-spec.ts";
import { article, schemaType } from "./workflow-state-types.ts";

/** The node kinds, in the order the docs list them; a node has exactly one. */
export const NODE_KINDS = [
  "agent",
  "tool",
  "decide",
  "branch",
  "parallel",
  "map",
  "approval",
  "wait",
  "handoff",
  "end",
] as const;
type NodeKind = (typeof NODE_KINDS)[number];

/** Kinds that write an output and go on to `next`; the others route on their own (branch) or end the workflow. */
const ROUTED: ReadonlySet<NodeKind> = new Set([
  "agent",
  "tool",
  "decide",
  "parallel",
  "map",
  "approval",
  "wait",
]);

/** One node of the spec as a typed node, or undefined after recording every issue found in it. */
export function buildWorkflowNode(
  context: BuildContext,
  name: string,
  spec: WorkflowNodeSpec,
): WorkflowNode | undefined {
  const at: FieldPath = ["nodes", name];
  const kinds = NODE_KINDS.filter((kind) => spec[kind] !== undefined);
  if (kinds.length !== 1) {
    const found = kinds.length === 0 ? "it has none" : `it has ${kinds.join(" and ")}`;
    report(context, at, `a node needs exactly one of ${NODE_KINDS.join(", ")}; ${found}`, "key");
    return undefined;
  }
  const kind = kinds[0]!;
  const routed = ROUTED.has(kind);
  if (!routed && spec.next !== undefined) {
    const why = kind === "branch" ? "routes by its cases" : "ends the workflow";
    report(context, [...at, "next"], `a ${kind} node ${why}; it takes no next`, "key");
  }
  if (!routed && spec.writes !== undefined) {
    report(context, [...at, "writes"], `a ${kind} node has no output to write`, "key");
  }
  if (routed && spec.next === undefined) {
    report(context, at, `a ${kind} node needs next`, "key");
    return undefined;
  }
  const isLabelled = kind === "decide" && spec.decide?.labels !== undefined;
  if (routed && !isLabelled && typeof spec.next !== "string") {
    report(context, [...at, "next"], "expected the name of a node (only a decide with labels maps them)");
    return undefined;
  }
  const common: NodeCommon = {
    name,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    ...(spec.maxVisits === undefined ? {} : { maxVisits: spec.maxVisits }),
  };
  const next = typeof spec.next === "string" ? spec.next : "";
  const writes = spec.writes === undefined ? {} : { writes: spec.writes };
  // Returned even after issues in its fields, so the graph is still checked; any issue fails the workflow.
  return buildKind(context, { at, kind, spec, common, next, writes });
}

type KindInput = NodeInput & { kind: NodeKind };

function buildKind(context: BuildContext, input: KindInput): WorkflowNode | undefined {
  const { at, spec, common, next, writes } = input;
  switch (input.kind) {
    case "agent": {
      const call = agentCall(context, spec.agent!, [...at, "agent"], null);
      if (spec.writes !== undefined)
        checkWrite(context, spec.writes, [...at, "writes"], "string", "an agent's answer");
      return call && { ...common, kind: "agent", call, ...writes, next };
    }
    case "tool": {
      const call = toolCall(context, spec.tool!, [...at, "tool"], null);
      if (spec.writes !== undefined) checkWrite(context, spec.writes, [...at, "writes"], undefined, "");
      return call && { ...common, kind: "tool", call, ...writes, next };
    }
    case "decide":
      return buildDecide(context, input);
    case "branch":
      return buildBranch(context, input);
    case "parallel":
      return buildParallel(context, input);
    case "map":
      return buildMap(context, input);
    case "approval": {
      const approval = spec.approval!;
      const form = readJsonSchema(context, approval.form, [...at, "approval", "form"]);
      const formType = schemaType(form);
      if (formType !== undefined && formType !== "object") {
        report(context, [...at, "approval", "form"], `a form is an object schema, not ${article(formType)}`);
      }
      if (spec.writes !== undefined)
        checkWrite(context, spec.writes, [...at, "writes"], "object", "an approval's form");
      const summary =
        approval.summary === undefined
          ? undefined
          : checkedTemplate(context, approval.summary, [...at, "approval", "summary"], null);
      return (
        form && {
          ...common,
          kind: "approval",
          routeTo: approval.routeTo,
          ...(summary === undefined ? {} : { summary }),
          form,
          slaMs: approval.sla,
          ...writes,
          next,
          ...(approval.onTimeout === undefined ? {} : { onTimeout: approval.onTimeout }),
          ...(approval.onDeny === undefined ? {} : { onDeny: approval.onDeny }),
        }
      );
    }
    case "wait":
      return buildWait(context, input);
    case "handoff": {
      const handoff = spec.handoff!;
      const targets = (["queue", "person", "agent"] as const).filter((key) => handoff[key] !== undefined);
      if (targets.length !== 1) {
        report(context, [...at, "handoff"], "a handoff names exactly one of queue, person or agent");
        return undefined;
      }
      const reason =
        handoff.reason === undefined
          ? undefined
          : checkedTemplate(context, handoff.reason, [...at, "handoff", "reason"], null);
      const target = targets[0]!;
      return {
        ...common,
        kind: "handoff",
        to: { kind: target, name: handoff[target]! },
        ...(reason === undefined ? {} : { reason }),
      };
    }
    case "end": {
      const text = spec.end!.output;
      const output =
        text === undefined ? undefined : checkedTemplate(context, text, [...at, "end", "output"], null);
      return { ...common, kind: "end", ...(output === undefined ? {} : { output }) };
    }
    default: {
      const unreachable: never = input.kind;
      throw new Error(`unknown node kind ${String(unreachable)}`);
    }
  }
}

function buildBranch(context: BuildContext, input: KindInput): WorkflowNode | undefined {
  const { at, spec, common } = input;
  const cases = spec.branch!;
  const last = cases.at(-1)!;
  const built: BranchCaseDefinition[] = [];
  for (const [index, item] of cases.entries()) {
    const path = [...at, "branch", index];
    if ("else" in item) {
      if (index !== cases.length - 1) report(context, path, "else must be the last case");
      continue;
    }
    built.push({
      when: checkedCondition(context, item.when, [...path, "when"], null),
      source: item.when,
      to: item.to,
    });
  }
  if (!("else" in last)) {
    report(
      context,
      [...at, "branch"],
      "a branch ends with { else: <node> }, where no condition holding goes",
    );
    return undefined;
  }
  return { ...common, kind: "branch", cases: built, else: last.else };
}

function buildWait(context: BuildContext, input: KindInput): WorkflowNode | undefined {
  const { at, spec, common, next, writes } = input;
  const wait = spec.wait!;
  const path = [...at, "wait"];
  const kinds = (["until", "for", "signal"] as const).filter((key) => wait[key] !== undefined);
  if (kinds.length !== 1) {
    report(context, path, "a wait needs exactly one of until, for or signal");
    return undefined;
  }
  if (wait.signal === undefined) {
    for (const key of ["timeout", "onTimeout"] as const) {
      if (wait[key] !== undefined)
        report(context, [...path, key], `${key} applies to a signal; a timer ends on its own`, "key");
    }
    if (spec.writes !== undefined)
      report(context, [...at, "writes"], "a timer has no output to write", "key");
  } else {
    if (wait.onTimeout !== undefined && wait.timeout === undefined) {
      report(context, [...path, "onTimeout"], "onTimeout needs a timeout", "key");
    }
    if (spec.writes !== undefined) checkWrite(context, spec.writes, [...at, "writes"], undefined, "");
  }
  let condition: WaitCondition | undefined;
  if (wait.until !== undefined) {
    const until = checkedTemplate(context, wait.until, [...path, "until"], null);
    condition = until && { kind: "until", until };
  } else if (wait.for !== undefined) {
    condition = { kind: "for", durationMs: wait.for };
  } else {
    condition = {
      kind: "signal",
      signal: wait.signal!,
      ...(wait.timeout === undefined ? {} : { timeoutMs: wait.timeout }),
      ...(wait.onTimeout === undefined ? {} : { onTimeout: wait.onTimeout }),
    };
  }
  return condition && { ...common, kind: "wait", wait: condition, ...writes, next };
}
