import { canonicalJson } from "../journal/index.ts";
import type {
  Comparison,
  Condition,
  JsonValue,
  Reference,
  StateFieldDefinition,
  Template,
} from "../spec/index.ts";

/** How a state field combines what is written to it. */
type Reducer = StateFieldDefinition["reducer"];

// What a workflow run computes from its values alone: the value at a reference, a template filled in, a branch
// condition's truth, and a state field after a write through its reducer. Pure functions of their arguments, so a
// run replayed from its journal computes exactly what it computed the first time.

/** What templates and conditions read: the workflow's state, the run's input and, inside a `map`, its item. */
export type WorkflowScope = {
  state: Readonly<Record<string, JsonValue>>;
  input: JsonValue;
  item?: JsonValue;
};

/** The value a reference names, or undefined when any step of its path is missing. */
export function readReference(scope: WorkflowScope, reference: Reference): JsonValue | undefined {
  // A state reference names its field first; input and item are one value each.
  const [field, ...below] = reference.path;
  let value: JsonValue | undefined;
  let path: readonly string[];
  if (reference.root === "state") {
    if (field === undefined || !Object.hasOwn(scope.state, field)) return undefined;
    value = scope.state[field];
    path = below;
  } else {
    value = reference.root === "input" ? scope.input : scope.item;
    path = reference.path;
  }
  for (const segment of path) {
    if (
      value === null ||
      typeof value !== "object" ||
      Array.isArray(value) ||
      !Object.hasOwn(value, segment)
    ) {
      return undefined;
    }
    value = value[segment];
  }
  return value;
}

/**
 * A template filled in from `scope`. A template that is exactly one reference yields the value itself (an object
 * stays an object, a missing value is null); any other yields text, with objects written as JSON and a missing
 * value as the empty string.
 */
export function renderTemplate(template: Template, scope: WorkflowScope): JsonValue {
  const [only] = template.parts;
  if (template.parts.length === 1 && only?.kind === "reference") {
    return readReference(scope, only.reference) ?? null;
  }
  let text = "";
  for (const part of template.parts) {
    if (part.kind === "text") {
      text += part.text;
      continue;
    }
    const value = readReference(scope, part.reference);
    if (value === undefined || value === null) continue;
    text += valueText(value);
  }
  return text;
}

/**
 * A value as text: a string as it is, anything else as canonical JSON (RFC 8785: fields sorted). Never in the order
 * an object's fields happen to be in — a state folded from the store has them in the store's order, one built in
 * memory in the order they were written — so a run resumed from its journal writes the text an uninterrupted one
 * would.
 */
export function valueText(value: JsonValue): string {
  return typeof value === "string" ? value : canonicalJson(value);
}

/** Whether a branch condition holds. A comparison whose value is missing does not hold, whatever its operator. */
export function testCondition(condition: Condition, scope: WorkflowScope): boolean {
  switch (condition.kind) {
    case "and":
      return condition.items.every((item) => testCondition(item, scope));
    case "or":
      return condition.items.some((item) => testCondition(item, scope));
    case "compare":
      return testComparison(condition, scope);
    default: {
      const unreachable: never = condition;
      throw new Error(`unknown condition ${JSON.stringify(unreachable)}`);
    }
  }
}

function testComparison(comparison: Comparison, scope: WorkflowScope): boolean {
  const root = comparison.root as Reference["root"];
  const value = readReference(scope, { root, path: comparison.path });
  if (value === undefined || value === null) return false;
  const literal = comparison.value;
  if (typeof literal === "number") {
    // Numbers compare as decimals, as governance conditions do: "96.00" and 96 are equal.
    const number = typeof value === "number" ? value : typeof value === "string" ? Number(value) : Number.NaN;
    if (typeof value === "string" && value.trim() === "") return false;
    if (!Number.isFinite(number)) return false;
    return compare(number, literal, comparison.op);
  }
  if (typeof literal === "boolean") {
    if (typeof value !== "boolean") return false;
    if (comparison.op === "==") return value === literal;
    if (comparison.op === "!=") return value !== literal;
    return false;
  }
  // Text compares for equality only (the parser allows nothing else).
  if (typeof value !== "string") return false;
  return comparison.op === "==" ? value === literal : comparison.op === "!=" ? value !== literal : false;
}

function compare(left: number, right: number, op: Comparison["op"]): boolean {
  switch (op) {
    case "==":
      return left === right;
    case "!=":
      return left !== right;
    case ">":
      return left > right;
    case ">=":
      return left >= right;
    case "<":
      return left < right;
    case "<=":
      return left <= right;
  }
}

/**
 * The field's value after `output` is written to it: `replace` takes the output, `append` adds it as one item,
 * `merge` copies its keys over the field's (one level), `sum` adds, `max` and `min` keep the larger or smaller.
 * An unset field counts as the reducer's empty value (no items, no keys, nothing to compare).
 */
export function applyReducer(reducer: Reducer, current: JsonValue | undefined, output: JsonValue): JsonValue {
  switch (reducer) {
    case "replace":
      return output;
    case "append":
      return [...(Array.isArray(current) ? current : []), output];
    case "merge":
      return { ...(isObject(current) ? current : {}), ...(isObject(output) ? output : {}) };
    case "sum":
      return (typeof current === "number" ? current : 0) + (typeof output === "number" ? output : 0);
    case "max":
    case "min": {
      if (typeof output !== "number") return current ?? null;
      if (typeof current !== "number") return output;
      return reducer === "max" ? Math.max(current, output) : Math.min(current, output);
    }
    default: {
      const unreachable: never = reducer;
      throw new Error(`unknown reducer ${String(unreachable)}`);
    }
  }
}

function isObject(value: JsonValue | undefined): value is { [key: string]: JsonValue } {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The state a run starts with: each field's default, where it has one. */
export function initialWorkflowValues(
  fields: Readonly<Record<string, StateFieldDefinition>>,
): Record<string, JsonValue> {
  const values: Record<string, JsonValue> = {};
  for (const [name, field] of Object.entries(fields)) {
    if (field.default !== undefined) values[name] = structuredClone(field.default);
  }
  return values;
}

/**
 * The run's input as templates read it: the JSON value when the input text is a JSON object or array, else the
 * text itself (a workflow started with a plain sentence reads it as `${input}`).
 */
export function workflowInput(text: string): JsonValue {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return text;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}
