import { type Condition, parseCondition } from "./condition.ts";

/**
 * Governance `when` conditions: the shared condition language (condition.ts) over the tool call's arguments, so
 * every path starts with `input`, such as `input.amount > 100`. The governor compiles a parsed condition to Cedar.
 */

/** A comparison of one argument with a literal; numbers compare as decimals, so "96.00" and 96 are equal. */
export type ToolComparison = {
  kind: "compare";
  /** The argument's path below `input`, such as ["amount"] or ["customer", "country"]. */
  path: string[];
  op: ">" | ">=" | "<" | "<=" | "==" | "!=";
  value: number | string | boolean;
};

/** A parsed condition. */
export type ToolCondition = ToolComparison | { kind: "and" | "or"; items: ToolCondition[] };

/** The condition, or why it does not parse (with the 1-based column inside the condition text). */
export type ParsedToolCondition =
  | { ok: true; condition: ToolCondition }
  | { ok: false; message: string; column: number };

/** Parse a condition on a tool call's `input`; never throws. */
export function parseToolCondition(text: string): ParsedToolCondition {
  const parsed = parseCondition(text, ["input"]);
  return parsed.ok ? { ok: true, condition: toToolCondition(parsed.condition) } : parsed;
}

/** Every path starts with `input`, so the root carries nothing the governor needs. */
function toToolCondition(condition: Condition): ToolCondition {
  if (condition.kind !== "compare")
    return { kind: condition.kind, items: condition.items.map(toToolCondition) };
  const { path, op, value } = condition;
  return { kind: "compare", path, op, value };
}
