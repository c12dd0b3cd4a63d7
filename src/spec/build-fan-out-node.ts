import { buildStep, type NodeInput } from "./build-node-call.ts";
import {
  type BuildContext,
  checkRead,
  checkWrite,
  type FieldPath,
  report,
} from "./workflow-build-context.ts";
import type {
  BranchStepDefinition,
  FanOutSettings,
  JoinPolicy,
  WorkflowNode,
} from "./workflow-definition.ts";
import type { WorkflowNodeSpec } from "./workflow-spec.ts";
import { article, type ItemScope, itemScopeOf, referenceScope } from "./workflow-state-types.ts";
import { parseReference } from "./workflow-template.ts";

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

/** A parallel node: its named branches, and which fields several of them write. */
export function buildParallel(context: BuildContext, input: NodeInput): WorkflowNode | undefined {
  const { at, spec, common, next } = input;
  const parallel = spec.parallel!;
  const path = [...at, "parallel"];
  const entries = Object.entries(parallel.branches);
  if (entries.length < 2) report(context, [...path, "branches"], "a parallel needs at least two branches");
  const settings = fanOutSettings(context, parallel, path, entries.length);
  const branches: ({ name: string } & BranchStepDefinition)[] = [];
  const writers = new Map<string, { names: string[]; path: FieldPath }>();
  const checked = new Set<string>();
  for (const [branch, step] of entries) {
    const stepPath = [...path, "branches", branch];
    const built = buildStep(context, step, stepPath, null);
    const field = step.writes ?? spec.writes;
    if (field !== undefined) {
      const writesPath = step.writes === undefined ? [...at, "writes"] : [...stepPath, "writes"];
      // The node's own `writes` is checked once per output type, not once per branch that inherits it.
      const key = `${writesPath.join(".")}:${built?.output}`;
      if (!checked.has(key)) {
        checked.add(key);
        checkWrite(
          context,
          field,
          writesPath,
          built?.output,
          `branch ${branch}'s output (an agent's answer)`,
        );
      }
      writers.set(field, { names: [...(writers.get(field)?.names ?? []), branch], path: writesPath });
    }
    if (built)
      branches.push({ name: branch, call: built.call, ...(field === undefined ? {} : { writes: field }) });
  }
  for (const [field, { names, path: lastPath }] of writers) {
    if (names.length < 2 || context.state[field]?.reducer !== "replace") continue;
    report(
      context,
      spec.writes === field ? [...at, "writes"] : lastPath,
      `state.${field} is written by ${names.length} parallel branches (${names.join(", ")}) but its reducer is replace: set reducer to append, merge, sum, max or min`,
    );
  }
  return { ...common, kind: "parallel", branches, ...settings, next };
}

/** A map node: the list it goes over, the call per item, and where the outputs go. */
export function buildMap(context: BuildContext, input: NodeInput): WorkflowNode | undefined {
  const { at, spec, common, next, writes } = input;
  const map = spec.map!;
  const path = [...at, "map"];
  const over = parseReference(map.over);
  let item: ItemScope = { type: undefined, schema: undefined };
  if (!over.ok || over.reference.root === "item") {
    report(context, [...path, "over"], over.ok ? "a map goes over a list in state or input" : over.message);
  } else if (checkRead(context, over.reference, [...path, "over"], null)) {
    const list = referenceScope(over.reference, context.state, context.input);
    if (list.type !== undefined && list.type !== "array") {
      report(context, [...path, "over"], `a map goes over a list, but ${map.over} is ${article(list.type)}`);
    }
    item = itemScopeOf(list);
  }
  const settings = fanOutSettings(context, map, path, null);
  const body = buildStep(context, map.do, [...path, "do"], item);
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
