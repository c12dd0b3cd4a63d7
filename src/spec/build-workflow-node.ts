import { parseRulesTable } from "./parse-rules-table.ts";
import {
  type BuildContext,
  checkedCondition,
  checkedTemplate,
  checkRead,
  checkWrite,
  type FieldPath,
  isJsonValue,
  readJsonSchema,
  readSpecFile,
  report,
} from "./workflow-build-context.ts";
import type {
  ArgumentValue,
  BranchCaseDefinition,
  BranchStepDefinition,
  DecideNodeDefinition,
  DecisionDefinition,
  FanOutSettings,
  JoinPolicy,
  NodeCall,
  NodeCommon,
  WaitCondition,
  WorkflowNode,
} from "./workflow-definition.ts";
import type { WorkflowNodeSpec } from "./workflow-spec.ts";
import { article, referenceType, schemaType } from "./workflow-state-types.ts";
import { parseReference } from "./workflow-template.ts";

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

type KindInput = {
  at: FieldPath;
  kind: NodeKind;
  spec: WorkflowNodeSpec;
  common: NodeCommon;
  next: string;
  writes: { writes?: string };
};

function buildKind(context: BuildContext, input: KindInput): WorkflowNode | undefined {
  const { at, spec, common, next, writes } = input;
  switch (input.kind) {
    case "agent": {
      const call = agentCall(context, spec.agent!, [...at, "agent"], false);
      if (spec.writes !== undefined)
        checkWrite(context, spec.writes, [...at, "writes"], "string", "an agent's answer");
      return call && { ...common, kind: "agent", call, ...writes, next };
    }
    case "tool": {
      const call = toolCall(context, spec.tool!, [...at, "tool"], false);
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
      return (
        form && {
          ...common,
          kind: "approval",
          routeTo: approval.routeTo,
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
          : checkedTemplate(context, handoff.reason, [...at, "handoff", "reason"], false);
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
        text === undefined ? undefined : checkedTemplate(context, text, [...at, "end", "output"], false);
      return { ...common, kind: "end", ...(output === undefined ? {} : { output }) };
    }
    default: {
      const unreachable: never = input.kind;
      throw new Error(`unknown node kind ${String(unreachable)}`);
    }
  }
}

function agentCall(
  context: BuildContext,
  call: { name: string; input: string },
  path: FieldPath,
  inMap: boolean,
): Extract<NodeCall, { kind: "agent" }> | undefined {
  const input = checkedTemplate(context, call.input, [...path, "input"], inMap);
  return input && { kind: "agent", agent: call.name, input };
}

function toolCall(
  context: BuildContext,
  call: { name: string; args: Record<string, unknown> },
  path: FieldPath,
  inMap: boolean,
): Extract<NodeCall, { kind: "tool" }> | undefined {
  const args: Record<string, ArgumentValue> = {};
  for (const [key, value] of Object.entries(call.args)) {
    const argumentPath = [...path, "args", key];
    if (typeof value === "string") {
      args[key] = { kind: "template", template: checkedTemplate(context, value, argumentPath, inMap) };
    } else if (isJsonValue(value)) {
      args[key] = { kind: "literal", value };
    } else {
      report(context, argumentPath, "expected a template or a JSON value");
    }
  }
  return { kind: "tool", tool: call.name, args };
}

type StepSpec = NonNullable<WorkflowNodeSpec["map"]>["do"];

/** A parallel branch or a map's body: exactly one call; its output type when known at load. */
function buildStep(
  context: BuildContext,
  step: StepSpec,
  path: FieldPath,
  inMap: boolean,
): { call: NodeCall; output: "string" | undefined } | undefined {
  if ((step.tool === undefined) === (step.agent === undefined)) {
    report(context, path, "a branch makes exactly one call: tool or agent");
    return undefined;
  }
  if (step.agent !== undefined) {
    const call = agentCall(context, step.agent, [...path, "agent"], inMap);
    return call && { call, output: "string" };
  }
  const call = toolCall(context, step.tool!, [...path, "tool"], inMap);
  return call && { call, output: undefined };
}

function buildDecide(context: BuildContext, input: KindInput): DecideNodeDefinition | undefined {
  const { at, spec, common, writes } = input;
  const decide = spec.decide!;
  const path = [...at, "decide"];
  let prompt: DecideNodeDefinition["prompt"] | undefined;
  if ((decide.prompt === undefined) === (decide.promptFile === undefined)) {
    report(context, path, "a decide needs exactly one of prompt or promptFile");
  } else if (decide.prompt !== undefined) {
    prompt = checkedTemplate(context, decide.prompt, [...path, "prompt"], false);
  } else {
    const read = readSpecFile(context, decide.promptFile!, [...path, "promptFile"], "prompt");
    if (read && read.text.trim() === "")
      report(context, [...path, "promptFile"], `prompt file is empty: ${read.file}`);
    else if (read)
      prompt = checkedTemplate(context, read.text, [...path, "promptFile"], false, `${decide.promptFile}: `);
  }
  const about =
    decide.input === undefined
      ? undefined
      : checkedTemplate(context, decide.input, [...path, "input"], false);
  let decision: DecisionDefinition | undefined;
  if ((decide.labels === undefined) === (decide.output === undefined)) {
    report(context, path, "a decide needs exactly one of labels or output");
  } else if (decide.labels !== undefined) {
    decision = labelDecision(context, decide.labels, spec.next, at);
    if (spec.writes !== undefined) checkWrite(context, spec.writes, [...at, "writes"], "string", "a label");
  } else {
    const output = readJsonSchema(context, decide.output!, [...path, "output"]);
    if (output !== undefined)
      decision = { kind: "schema", output, next: typeof spec.next === "string" ? spec.next : "" };
    if (output !== undefined && spec.writes !== undefined) {
      checkWrite(context, spec.writes, [...at, "writes"], schemaType(output), "the decision's output schema");
    }
  }
  const rules =
    decide.rules === undefined ? undefined : readDecideRules(context, decide.rules, decide.labels, path);
  if (prompt === undefined || decision === undefined || rules === null) return undefined;
  return {
    ...common,
    kind: "decide",
    prompt,
    ...(about === undefined ? {} : { input: about }),
    decision,
    retries: decide.retries,
    fallback: decide.fallback,
    ...(rules === undefined ? {} : { rules }),
    ...writes,
  };
}

/** `next` must map every label, and only labels, to a node. */
function labelDecision(
  context: BuildContext,
  labels: string[],
  next: WorkflowNodeSpec["next"],
  at: FieldPath,
): DecisionDefinition | undefined {
  const duplicate = labels.find((label, index) => labels.indexOf(label) !== index);
  if (duplicate !== undefined) {
    report(context, [...at, "decide", "labels"], `label "${duplicate}" is listed twice`);
    return undefined;
  }
  if (next === undefined) return undefined;
  if (typeof next === "string") {
    report(
      context,
      [...at, "next"],
      `a decide with labels maps each label to a node: next: { ${labels[0]}: … }`,
    );
    return undefined;
  }
  let ok = true;
  for (const key of Object.keys(next)) {
    if (labels.includes(key)) continue;
    report(context, [...at, "next", key], `"${key}" is not one of the labels (${labels.join(", ")})`, "key");
    ok = false;
  }
  for (const label of labels) {
    if (next[label] !== undefined) continue;
    report(context, [...at, "next"], `label "${label}" has no next node`);
    ok = false;
  }
  return ok
    ? { kind: "labels", labels, next: Object.fromEntries(labels.map((label) => [label, next[label]!])) }
    : undefined;
}

/** The decide's offline rules: every rule answers (a decision calls no tool), with a label when labels are set. */
function readDecideRules(
  context: BuildContext,
  relative: string,
  labels: readonly string[] | undefined,
  path: FieldPath,
): DecideNodeDefinition["rules"] | null {
  const read = readSpecFile(context, relative, [...path, "rules"], "rules table");
  if (read === undefined) return null;
  const parsed = parseRulesTable(read.file, read.text, null);
  context.fileIssues.push(...parsed.issues);
  if (parsed.table === null) return null;
  let ok = true;
  for (const [index, rule] of parsed.table.rules.entries()) {
    if (rule.call !== undefined) {
      report(
        context,
        [...path, "rules"],
        `${relative}: rule "${rule.name}" calls a tool; a decide's rules answer`,
      );
      ok = false;
    } else if (labels && !rule.answer!.includes("{{") && !labels.includes(rule.answer!)) {
      const message = `${relative}: rules[${index}] (${rule.name}) answers "${rule.answer}", which is not one of the labels (${labels.join(", ")})`;
      report(context, [...path, "rules"], message);
      ok = false;
    }
  }
  return ok ? parsed.table : null;
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
      when: checkedCondition(context, item.when, [...path, "when"], false),
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

function fanOutSettings(
  context: BuildContext,
  settings: Pick<NonNullable<WorkflowNodeSpec["parallel"]>, "join" | "concurrency" | "timeout" | "failures">,
  path: FieldPath,
  branchCount: number | null,
): FanOutSettings {
  const join: JoinPolicy =
    typeof settings.join === "string"
      ? { kind: settings.join }
      : { kind: "quorum", count: settings.join.quorum };
  if (join.kind === "quorum" && branchCount !== null && join.count > branchCount) {
    report(
      context,
      [...path, "join", "quorum"],
      `a quorum of ${join.count} needs at least ${join.count} branches; there are ${branchCount}`,
    );
  }
  if (settings.failures !== undefined) {
    checkWrite(context, settings.failures, [...path, "failures"], "array", "the list of failed branches");
  }
  return {
    join,
    ...(settings.concurrency === undefined ? {} : { concurrency: settings.concurrency }),
    ...(settings.timeout === undefined ? {} : { timeoutMs: settings.timeout }),
    ...(settings.failures === undefined ? {} : { failures: settings.failures }),
  };
}

function buildParallel(context: BuildContext, input: KindInput): WorkflowNode | undefined {
  const { at, spec, common, next } = input;
  const parallel = spec.parallel!;
  const path = [...at, "parallel"];
  const entries = Object.entries(parallel.branches);
  if (entries.length < 2) report(context, [...path, "branches"], "a parallel needs at least two branches");
  const settings = fanOutSettings(context, parallel, path, entries.length);
  const branches: ({ name: string } & BranchStepDefinition)[] = [];
  const writers = new Map<string, string[]>();
  for (const [branch, step] of entries) {
    const stepPath = [...path, "branches", branch];
    const built = buildStep(context, step, stepPath, false);
    const field = step.writes ?? spec.writes;
    if (field !== undefined) {
      const writesPath = step.writes === undefined ? [...at, "writes"] : [...stepPath, "writes"];
      checkWrite(context, field, writesPath, built?.output, `branch ${branch}'s output (an agent's answer)`);
      writers.set(field, [...(writers.get(field) ?? []), branch]);
    }
    if (built)
      branches.push({ name: branch, call: built.call, ...(field === undefined ? {} : { writes: field }) });
  }
  for (const [field, names] of writers) {
    if (names.length < 2 || context.state[field]?.reducer !== "replace") continue;
    const path = spec.writes === field ? [...at, "writes"] : ["state", field, "type"];
    report(
      context,
      path,
      `state.${field} is written by ${names.length} parallel branches (${names.join(", ")}) but its reducer is replace: set reducer to append, merge, sum, max or min`,
    );
  }
  return { ...common, kind: "parallel", branches, ...settings, next };
}

function buildMap(context: BuildContext, input: KindInput): WorkflowNode | undefined {
  const { at, spec, common, next, writes } = input;
  const map = spec.map!;
  const path = [...at, "map"];
  const over = parseReference(map.over);
  if (!over.ok || over.reference.root === "item") {
    report(context, [...path, "over"], over.ok ? "a map goes over a list in state or input" : over.message);
  } else if (checkRead(context, over.reference, [...path, "over"], false)) {
    const type = referenceType(over.reference, context.state);
    if (type !== undefined && type !== "array") {
      report(context, [...path, "over"], `a map goes over a list, but ${map.over} is ${article(type)}`);
    }
  }
  const settings = fanOutSettings(context, map, path, null);
  const body = buildStep(context, map.do, [...path, "do"], true);
  if (map.do.writes !== undefined) {
    const writesPath = [...path, "do", "writes"];
    if (
      checkWrite(context, map.do.writes, writesPath, body?.output, "each item's output (an agent's answer)")
    ) {
      if (context.state[map.do.writes]!.reducer === "replace") {
        report(
          context,
          writesPath,
          `every item of the map writes state.${map.do.writes}, but its reducer is replace: set reducer to append, merge, sum, max or min`,
        );
      }
    }
  }
  if (spec.writes !== undefined) {
    checkWrite(
      context,
      spec.writes,
      [...at, "writes"],
      "array",
      "a map's output (the list of its items' outputs)",
    );
  }
  if (!over.ok || body === undefined) return undefined;
  const step: BranchStepDefinition = {
    call: body.call,
    ...(map.do.writes === undefined ? {} : { writes: map.do.writes }),
  };
  return { ...common, kind: "map", over: over.reference, body: step, ...writes, ...settings, next };
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
    const until = checkedTemplate(context, wait.until, [...path, "until"], false);
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
