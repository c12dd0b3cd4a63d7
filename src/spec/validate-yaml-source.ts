import type { z } from "zod";
import type { YamlSource } from "./parse-yaml-source.ts";
import type { SpecIssue } from "./spec-error.ts";

type ZodIssue = z.core.$ZodIssue;

/** The parsed value when `source.data` satisfies `schema`, and otherwise every issue, placed at its line. */
export function validateYamlSource<Schema extends z.ZodType>(
  source: YamlSource,
  schema: Schema,
): { value: z.output<Schema> | undefined; issues: SpecIssue[] } {
  const result = schema.safeParse(source.data, { error: describeIssue });
  if (result.success) return { value: result.data, issues: [] };
  const issues = explainIssues(result.error.issues).map((issue) =>
    at(source, issue.path, issue.target, issue.message),
  );
  return { value: undefined, issues };
}

/** A schema issue in an author's words, at a field path; `key` when it is about the field's name. */
export type ExplainedIssue = { path: PropertyKey[]; target: "value" | "key"; message: string };

/**
 * The issues of a failed `safeParse(data, { error: describeIssue })`: one per unknown key, and unions narrowed to
 * the branch that was meant. Shared by file loaders (which add a line) and TypeScript builders (which do not).
 */
export function explainIssues(issues: readonly ZodIssue[]): ExplainedIssue[] {
  return issues.flatMap((issue) => explainIssue(issue, []));
}

function explainIssue(issue: ZodIssue, prefix: readonly PropertyKey[]): ExplainedIssue[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      path: [...path, key],
      target: "key",
      message: `unknown field "${key}"`,
    }));
  }
  if (issue.code === "invalid_key") {
    const reason = issue.issues[0]?.message ?? issue.message;
    return [{ path, target: "key", message: `invalid name "${String(path.at(-1))}": ${reason}` }];
  }
  if (issue.code === "invalid_union" && issue.errors.length > 0) {
    const meant = issue.errors.filter((branch) => !branch.every(isShapeMismatch));
    if (meant.length === 1) return meant[0]!.flatMap((inner) => explainIssue(inner, path));
  }
  return [{ path, target: "value", message: issue.message }];
}

/** A branch of a union that failed only because the value had another type: it was not the one meant. */
function isShapeMismatch(issue: ZodIssue): boolean {
  return issue.path.length === 0 && (issue.code === "invalid_type" || issue.code === "invalid_value");
}

function at(
  source: YamlSource,
  path: readonly PropertyKey[],
  target: "value" | "key",
  message: string,
): SpecIssue {
  return { file: source.file, ...source.locate(path, target), path: formatPath(path), message };
}

/** `model.params.temperature`, `tools[2]`, `rules[0].when.input`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text === "" ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

/** Messages in the words of a YAML author (mapping, list), used where a schema gives no message of its own. */
export function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined
        ? `required field is missing (expected ${nameType(issue.expected)})`
        : `expected ${nameType(issue.expected)}, got ${describeValue(issue.input)}`;
    case "invalid_value":
      return `expected ${issue.values.map((value) => JSON.stringify(value)).join(" or ")}, got ${describeValue(issue.input)}`;
    case "invalid_union": {
      const expected = new Set(issue.errors.flat().flatMap(expectedOf));
      if (expected.size === 0) return undefined;
      return `expected ${listAlternatives([...expected])}, got ${describeValue(issue.input)}`;
    }
    case "too_small":
      return describeBound(issue.origin, "at least", "more than", issue.minimum, issue.inclusive);
    case "too_big":
      return describeBound(issue.origin, "at most", "less than", issue.maximum, issue.inclusive);
    case "invalid_format":
      return issue.format === "regex" && "pattern" in issue
        ? `expected text matching ${issue.pattern}`
        : undefined;
    default:
      return undefined;
  }
}

function expectedOf(issue: ZodIssue): string[] {
  if (issue.path.length > 0) return [];
  if (issue.code === "invalid_type")
    return [issue.expected === "boolean" ? "a boolean" : nameType(issue.expected)];
  if (issue.code === "invalid_value") return issue.values.map((value) => JSON.stringify(value));
  return [];
}

/** `a string, a number or a mapping`. */
function listAlternatives(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
}

function describeBound(
  origin: string,
  inclusiveWord: string,
  exclusiveWord: string,
  limit: number | bigint,
  inclusive: boolean | undefined,
): string | undefined {
  const word = inclusive === false ? exclusiveWord : inclusiveWord;
  switch (origin) {
    case "string":
      return limit === 1 && inclusive !== false && inclusiveWord === "at least"
        ? "must not be empty"
        : `must be ${word} ${limit} characters long`;
    case "array":
      return `must have ${word} ${limit} ${limit === 1 ? "item" : "items"}`;
    case "number":
    case "int":
      return `must be ${word} ${limit}`;
    default:
      return undefined;
  }
}

function nameType(expected: string): string {
  switch (expected) {
    case "object":
    case "record":
    case "map":
      return "a mapping";
    case "array":
    case "tuple":
      return "a list";
    case "string":
      return "a string";
    case "number":
      return "a number";
    case "int":
      return "a whole number";
    case "boolean":
      return "true or false";
    case "null":
      return "null";
    default:
      return expected;
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string")
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return String(value);
}
