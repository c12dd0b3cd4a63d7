import { resolve } from "node:path";
import { Ajv } from "ajv";
import { parse } from "yaml";
import type { WorkflowIssue } from "./check-workflow-graph.ts";
import { type Condition, parseCondition } from "./condition.ts";
import { readTextFileSync } from "./read-text-file.ts";
import type { SpecIssue } from "./spec-error.ts";
import type { JsonSchema, JsonValue, StateFieldDefinition } from "./workflow-definition.ts";
import { type ItemScope, type JsonType, readProblem, writeMismatch } from "./workflow-state-types.ts";
import { parseTemplate, type Reference, type Template, templateReferences } from "./workflow-template.ts";

/** A field path in the spec, such as ["nodes", "match", "tool", "args", "poNumber"]. */
export type FieldPath = (string | number)[];

/** What checking one workflow carries: where its files are, what it declares, and the issues found so far. */
export type BuildContext = {
  /** Directory relative file names are resolved against. */
  dir: string;
  state: Record<string, StateFieldDefinition>;
  input: JsonSchema | undefined;
  issues: WorkflowIssue[];
  /** Issues inside other files (a rules table), already placed at their own line. */
  fileIssues: SpecIssue[];
};

/** Record an issue at `path`. */
export function report(context: BuildContext, path: FieldPath, message: string, target?: "key"): void {
  context.issues.push(target === undefined ? { path, message } : { path, message, target });
}

/** A text file relative to the spec, or undefined after recording why it cannot be read. */
export function readSpecFile(
  context: BuildContext,
  relative: string,
  path: FieldPath,
  what: string,
): { file: string; text: string } | undefined {
  const file = resolve(context.dir, relative);
  const read = readTextFileSync(file);
  if ("problem" in read) {
    report(context, path, `${what} ${read.problem}`);
    return undefined;
  }
  return { file, text: read.text.replaceAll("\r\n", "\n") };
}

/** A JSON Schema written inline or named by file, checked to compile; undefined after recording why not. */
export function readJsonSchema(
  context: BuildContext,
  source: string | Record<string, unknown>,
  path: FieldPath,
): JsonSchema | undefined {
  let schema: unknown = source;
  let origin = "";
  if (typeof source === "string") {
    const read = readSpecFile(context, source, path, "JSON Schema");
    if (read === undefined) return undefined;
    origin = `${source}: `;
    try {
      schema = parse(read.text);
    } catch (error) {
      report(context, path, `${origin}not valid JSON or YAML: ${(error as Error).message}`);
      return undefined;
    }
  }
  if (!isJsonObject(schema)) {
    report(context, path, `${origin}a JSON Schema must be a mapping`);
    return undefined;
  }
  const problem = schemaProblem(schema);
  if (problem !== null) {
    report(context, path, `${origin}not a valid JSON Schema: ${problem}`);
    return undefined;
  }
  return schema;
}

/** One compiler for every workflow; `addUsedSchema: false` so two files may declare the same `$id`. */
const ajv = new Ajv({ strict: false, allErrors: true, addUsedSchema: false });

/** Why a schema does not compile, or null. */
function schemaProblem(schema: JsonSchema): string | null {
  try {
    ajv.compile(schema);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Why `value` does not match `schema`, or null. */
export function valueProblem(schema: JsonSchema, value: JsonValue): string | null {
  const validate = ajv.compile(schema);
  if (validate(value)) return null;
  return (validate.errors ?? [])
    .map((error) => `${error.instancePath || "the value"} ${error.message}`)
    .join("; ");
}

/**
 * A template, its references checked against the declared state. After recording an issue it still returns a
 * template (the text as is), so the rest of the node and the graph can be checked in the same pass.
 */
export function checkedTemplate(
  context: BuildContext,
  text: string,
  path: FieldPath,
  item: ItemScope | null,
  origin = "",
): Template {
  const parsed = parseTemplate(text);
  if (!parsed.ok) {
    report(context, path, `${origin}invalid template at column ${parsed.column}: ${parsed.message}`);
    return { source: text, parts: [{ kind: "text", text }] };
  }
  for (const reference of templateReferences(parsed.template))
    checkRead(context, reference, path, item, origin);
  return parsed.template;
}

/** A condition, its paths checked against the declared state; like checkedTemplate, it returns one after an issue. */
export function checkedCondition(
  context: BuildContext,
  text: string,
  path: FieldPath,
  item: ItemScope | null,
): Condition {
  const parsed = parseCondition(text, ["state", "input", "item"]);
  if (!parsed.ok) {
    report(context, path, `invalid condition at column ${parsed.column}: ${parsed.message}`);
    return { kind: "and", items: [] };
  }
  const visit = (condition: Condition): void => {
    if (condition.kind !== "compare") {
      condition.items.forEach(visit);
      return;
    }
    checkRead(context, { root: condition.root as Reference["root"], path: condition.path }, path, item);
  };
  visit(parsed.condition);
  return parsed.condition;
}

/** Whether a read is of declared state; records why not. */
export function checkRead(
  context: BuildContext,
  reference: Reference,
  path: FieldPath,
  item: ItemScope | null,
  origin = "",
): boolean {
  const problem = readProblem(reference, context.state, context.input, item);
  if (problem !== null) report(context, path, `${origin}${problem}`);
  return problem === null;
}

/**
 * Whether `field` may receive an output of type `output` (undefined: not known at load); records why not. The
 * field must be declared, and its type and reducer must take the output.
 */
export function checkWrite(
  context: BuildContext,
  field: string,
  path: FieldPath,
  output: JsonType | undefined,
  what: string,
): boolean {
  const declared = context.state[field];
  if (declared === undefined) {
    report(context, path, `writes state.${field}, which is not declared in state`);
    return false;
  }
  const mismatch = writeMismatch(field, declared, output, what);
  if (mismatch !== null) report(context, path, mismatch);
  return mismatch === null;
}

/** Whether a value is plain JSON (what a YAML file always holds; a TypeScript object may hold anything). */
export function isJsonValue(value: unknown): value is JsonValue {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJsonValue);
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value).every(isJsonValue);
  }
  return false;
}

function isJsonObject(value: unknown): value is JsonSchema {
  return value !== null && typeof value === "object" && !Array.isArray(value) && isJsonValue(value);
}
