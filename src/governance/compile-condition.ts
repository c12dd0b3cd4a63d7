import type { ToolComparison, ToolCondition } from "../spec/index.ts";
import { cedarString } from "./cedar-names.ts";
import { decimalText } from "./cedar-values.ts";

/**
 * How a comparison reads when its argument is absent or not a number Cedar can hold: `restrictive` (forbid and
 * review rules) takes it as true, so the doubt goes to the safe side; `permissive` (autonomous rules) as false.
 */
export type ConditionReading = "restrictive" | "permissive";

const DECIMAL_METHODS = {
  ">": "greaterThan",
  ">=": "greaterThanOrEqual",
  "<": "lessThan",
  "<=": "lessThanOrEqual",
} as const;

/** A condition as a Cedar expression over `context.input` and `context.numbers`. */
export function compileCondition(condition: ToolCondition, reading: ConditionReading): string {
  switch (condition.kind) {
    case "and":
    case "or": {
      const joiner = condition.kind === "and" ? " && " : " || ";
      return `(${condition.items.map((item) => compileCondition(item, reading)).join(joiner)})`;
    }
    case "compare":
      return compileComparison(condition, reading);
    default: {
      const unreachable: never = condition;
      throw new Error(`unknown condition ${JSON.stringify(unreachable)}`);
    }
  }
}

function compileComparison(comparison: ToolComparison, reading: ConditionReading): string {
  const { guard, test } =
    typeof comparison.value === "number" ? numericTest(comparison) : valueTest(comparison);
  // if-then-else rather than `!guard || test` so Cedar's validator sees the guard protect the access.
  return reading === "restrictive" ? `(if ${guard} then ${test} else true)` : `(${guard} && ${test})`;
}

function numericTest(comparison: ToolComparison): { guard: string; test: string } {
  const literal = decimalText(comparison.value as number);
  if (literal === null) {
    throw new Error(`${comparison.value} cannot be compared exactly (at most 4 decimal places)`);
  }
  const key = cedarString(comparison.path.join("."));
  const value = `context.numbers[${key}]`;
  const decimal = `decimal(${cedarString(literal)})`;
  const guard = `context.numbers has ${key}`;
  switch (comparison.op) {
    case "==":
      return { guard, test: `${value} == ${decimal}` };
    case "!=":
      return { guard, test: `${value} != ${decimal}` };
    default:
      return { guard, test: `${value}.${DECIMAL_METHODS[comparison.op]}(${decimal})` };
  }
}

function valueTest(comparison: ToolComparison): { guard: string; test: string } {
  const guards: string[] = [];
  let expression = "context.input";
  for (const segment of comparison.path) {
    guards.push(`${expression} has ${cedarString(segment)}`);
    expression = `${expression}[${cedarString(segment)}]`;
  }
  const literal =
    typeof comparison.value === "string" ? cedarString(comparison.value) : String(comparison.value);
  return { guard: guards.join(" && "), test: `${expression} ${comparison.op} ${literal}` };
}
