import { isDeepStrictEqual } from "node:util";
import type { ToolCallOutcome } from "./case-outcome.ts";
import type { NodeExpectation, ToolExpectation } from "./eval-case.ts";
import { type Grader, verdict } from "./grader.ts";

/** The graders a tool expectation asks for: calls made, their order, their arguments, and tools never run. */
export function trajectoryGraders(expectation: ToolExpectation): Grader[] {
  const graders: Grader[] = [];
  const { called, order, arguments: expectedArguments, forbidden, none } = expectation;
  if (called) graders.push(trajectory("tools.called", (calls) => checkCalled(calls, called)));
  if (order) graders.push(trajectory("tools.order", (calls) => checkOrder(calls, order)));
  if (expectedArguments)
    graders.push(trajectory("tools.arguments", (calls) => checkArguments(calls, expectedArguments)));
  if (forbidden) graders.push(trajectory("tools.forbidden", (calls) => checkForbidden(calls, forbidden)));
  if (none)
    graders.push(
      trajectory("tools.none", (calls) =>
        calls.length === 0 ? [true, "no tool was called"] : [false, `called ${names(calls).join(", ")}`],
      ),
    );
  return graders;
}

/** The graders a node expectation asks for: a workflow run's whole path, an order in it, nodes entered or not. */
export function nodePathGraders(expectation: NodeExpectation): Grader[] {
  const graders: Grader[] = [];
  const { path, order, visited, notVisited } = expectation;
  const shown = (nodes: readonly string[]) => nodes.join(" → ") || "no nodes";
  if (path)
    graders.push(
      nodeGrader("nodes.path", (nodes) =>
        isDeepStrictEqual(nodes, path)
          ? [true, `took the path ${shown(path)}`]
          : [false, `expected the path ${shown(path)}, took ${shown(nodes)}`],
      ),
    );
  if (order)
    graders.push(
      nodeGrader("nodes.order", (nodes) => {
        let position = 0;
        for (const node of nodes) if (node === order[position]) position += 1;
        return position === order.length
          ? [true, `entered in order ${shown(order)}`]
          : [false, `expected the order ${shown(order)}, took ${shown(nodes)}`];
      }),
    );
  if (visited)
    graders.push(
      nodeGrader("nodes.visited", (nodes) => {
        const missing = visited.filter((node) => !nodes.includes(node));
        return missing.length === 0
          ? [true, `entered ${visited.join(", ")}`]
          : [false, `did not enter ${missing.join(", ")} (took ${shown(nodes)})`];
      }),
    );
  if (notVisited)
    graders.push(
      nodeGrader("nodes.notVisited", (nodes) => {
        const entered = notVisited.filter((node) => nodes.includes(node));
        return entered.length === 0
          ? [true, `never entered ${notVisited.join(", ")}`]
          : [false, `entered ${entered.join(", ")} (took ${shown(nodes)})`];
      }),
    );
  return graders;
}

function nodeGrader(name: string, check: (nodes: readonly string[]) => [boolean, string]): Grader {
  return {
    name,
    kind: "deterministic",
    grade: ({ outcome }) => verdict(name, "deterministic", ...check(outcome.nodes)),
  };
}

function checkCalled(calls: readonly ToolCallOutcome[], expected: readonly string[]): [boolean, string] {
  const made = new Set(names(calls));
  const missing = expected.filter((tool) => !made.has(tool));
  return missing.length === 0
    ? [true, `called ${expected.join(", ")}`]
    : [false, `did not call ${missing.join(", ")} (called: ${names(calls).join(", ") || "nothing"})`];
}

function checkOrder(calls: readonly ToolCallOutcome[], expected: readonly string[]): [boolean, string] {
  let position = 0;
  for (const tool of names(calls)) if (tool === expected[position]) position += 1;
  return position === expected.length
    ? [true, `called in order ${expected.join(" → ")}`]
    : [false, `expected the order ${expected.join(" → ")}, got ${names(calls).join(" → ") || "no calls"}`];
}

function checkArguments(
  calls: readonly ToolCallOutcome[],
  expected: Readonly<Record<string, Record<string, unknown>>>,
): [boolean, string] {
  const problems: string[] = [];
  for (const [tool, fields] of Object.entries(expected)) {
    const candidates = calls.filter((call) => call.tool === tool);
    const matches = candidates.some((call) => isSubset(fields, call.arguments));
    if (!matches)
      problems.push(
        candidates.length === 0
          ? `${tool} was not called`
          : `no call to ${tool} had ${JSON.stringify(fields)} (got ${candidates.map((call) => JSON.stringify(call.arguments)).join("; ")})`,
      );
  }
  return problems.length === 0 ? [true, "the arguments match"] : [false, problems.join("; ")];
}

function checkForbidden(calls: readonly ToolCallOutcome[], forbidden: readonly string[]): [boolean, string] {
  const ran = calls.filter((call) => call.executed && forbidden.includes(call.tool));
  if (ran.length > 0) return [false, `executed forbidden ${names(ran).join(", ")}`];
  const stopped = calls.filter((call) => forbidden.includes(call.tool));
  return [
    true,
    stopped.length > 0
      ? `asked for ${names(stopped).join(", ")} but the gate stopped it`
      : "no forbidden tool was called",
  ];
}

/** `expected`'s fields are all in `actual`, numbers and numeric strings compared by value ("96.00" = 96). */
export function isSubset(expected: unknown, actual: unknown): boolean {
  if (expected !== null && typeof expected === "object" && !Array.isArray(expected)) {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([key, value]) =>
      isSubset(value, (actual as Record<string, unknown>)[key]),
    );
  }
  if (typeof expected === "number" || typeof actual === "number") {
    const left = Number(typeof expected === "string" ? expected.replace(/^#/, "") : expected);
    const right = Number(typeof actual === "string" ? actual.replace(/^#/, "") : actual);
    if (Number.isFinite(left) && Number.isFinite(right)) return left === right;
  }
  return isDeepStrictEqual(expected, actual);
}

function names(calls: readonly ToolCallOutcome[]): string[] {
  return calls.map((call) => call.tool);
}

function trajectory(name: string, check: (calls: readonly ToolCallOutcome[]) => [boolean, string]): Grader {
  return {
    name,
    kind: "deterministic",
    grade: ({ outcome }) => verdict(name, "deterministic", ...check(outcome.toolCalls)),
  };
}
