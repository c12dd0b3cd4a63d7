import type { JsonSchema, JsonValue, StateFieldDefinition } from "./workflow-definition.ts";
import type { Reducer, StateType } from "./workflow-spec.ts";
import { formatReference, type Reference } from "./workflow-template.ts";

// What the loader knows about types in a workflow: the JSON type at a path of the state, and whether an output of
// a known type may be written to a field through its reducer. Unknown types (no schema, a tool's output before
// binding) pass: only what is known at load can be wrong at load.

/** A JSON type as a state field or JSON Schema names it. */
export type JsonType = StateType | "null";

/** The JSON type a JSON Schema declares at its top, when it declares exactly one. */
export function schemaType(schema: JsonSchema | undefined): JsonType | undefined {
  const type = schema?.type;
  if (typeof type === "string" && isJsonType(type)) return type;
  if (schema?.properties !== undefined && type === undefined) return "object";
  return undefined;
}

function isJsonType(text: string): text is JsonType {
  return ["string", "number", "integer", "boolean", "object", "array", "null"].includes(text);
}

/** The JSON type of a value. */
export function valueType(value: JsonValue): JsonType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value as "string" | "boolean" | "object";
}

/** Whether a value of type `given` is acceptable where `wanted` is declared (an integer is a number). */
export function typeFits(given: JsonType, wanted: JsonType): boolean {
  return given === wanted || (given === "integer" && wanted === "number");
}

/** The JSON types each reducer combines. */
export const REDUCER_FIELD_TYPES: Record<Reducer, readonly StateType[] | null> = {
  replace: null,
  append: ["array"],
  merge: ["object"],
  sum: ["number", "integer"],
  max: ["number", "integer"],
  min: ["number", "integer"],
};

/**
 * Why an output of type `output` cannot be written to `field`, or null when it can (or the type is unknown).
 * `replace` needs the field's own type; `append` adds the output as one item (checked against the field's
 * `items` schema when it has one); `merge` needs an object; `sum`, `max` and `min` need a number.
 */
export function writeMismatch(
  fieldName: string,
  field: StateFieldDefinition,
  output: JsonType | undefined,
  what: string,
): string | null {
  if (output === undefined) return null;
  switch (field.reducer) {
    case "replace":
      return typeFits(output, field.type)
        ? null
        : `${what} is ${article(output)}, but state.${fieldName} is ${article(field.type)}`;
    case "append": {
      const itemType = schemaType(asSchema(field.schema?.items));
      if (itemType === undefined || typeFits(output, itemType)) return null;
      return `${what} is ${article(output)}, but the items of state.${fieldName} are ${plural(itemType)}`;
    }
    case "merge":
      return output === "object"
        ? null
        : `${what} is ${article(output)}, but state.${fieldName} merges objects (reducer merge)`;
    case "sum":
    case "max":
    case "min":
      return typeFits(output, "number")
        ? null
        : `${what} is ${article(output)}, but state.${fieldName} combines numbers (reducer ${field.reducer})`;
    default: {
      const unreachable: never = field.reducer;
      throw new Error(`unknown reducer ${String(unreachable)}`);
    }
  }
}

/**
 * Why a read of `reference` cannot succeed given the declared state and input, or null. A path below a field is
 * followed through the field's JSON Schema `properties`; a field name is only refused where the schema closes the
 * object (`additionalProperties: false`) or the value cannot have fields at all.
 */
export function readProblem(
  reference: Reference,
  state: Record<string, StateFieldDefinition>,
  input: JsonSchema | undefined,
  item: ItemScope | null,
): string | null {
  const text = formatReference(reference);
  switch (reference.root) {
    case "item":
      if (item === null) return `reads ${text}, but only the do of a map has an item`;
      return pathProblem(text, reference.path, item.type, item.schema);
    case "input":
      return pathProblem(text, reference.path, schemaType(input), input);
    case "state": {
      const [name, ...rest] = reference.path;
      const field = state[name!];
      if (field === undefined) {
        return rest.length === 0
          ? `reads ${text}, which is not declared in state`
          : `reads ${text}, but state.${name} is not declared in state`;
      }
      return pathProblem(text, rest, field.type, field.schema);
    }
    default: {
      const unreachable: never = reference.root;
      throw new Error(`unknown root ${String(unreachable)}`);
    }
  }
}

/** What is known of a value at load: its JSON type and its JSON Schema, each when declared. */
export type ValueScope = { type: JsonType | undefined; schema: JsonSchema | undefined };

/** Inside a `map`'s `do`: what is known of the item (from the list's `items` schema). */
export type ItemScope = ValueScope;

/** The type and schema at a state or input `reference`, as far as the declarations make them known. */
export function referenceScope(
  reference: Reference,
  state: Record<string, StateFieldDefinition>,
  input: JsonSchema | undefined,
): ValueScope {
  let type: JsonType | undefined;
  let schema: JsonSchema | undefined;
  let path: readonly string[] = reference.path;
  if (reference.root === "state") {
    const field = state[path[0]!];
    if (field === undefined) return { type: undefined, schema: undefined };
    [type, schema, path] = [field.type, field.schema, path.slice(1)];
  } else if (reference.root === "input") {
    [type, schema] = [schemaType(input), input];
  } else {
    return { type: undefined, schema: undefined };
  }
  for (const segment of path) {
    schema = asSchema(asSchema(schema?.properties)?.[segment]);
    type = schemaType(schema);
  }
  return { type, schema };
}

/** What a map over the list at `list` knows of each item. */
export function itemScopeOf(list: ValueScope): ItemScope {
  const items = asSchema(list.schema?.items);
  return { type: schemaType(items), schema: items };
}

function pathProblem(
  text: string,
  path: readonly string[],
  type: JsonType | undefined,
  schema: JsonSchema | undefined,
): string | null {
  let currentType = type;
  let currentSchema = schema;
  let walked = text
    .split(".")
    .slice(0, text.split(".").length - path.length)
    .join(".");
  for (const segment of path) {
    if (currentType !== undefined && currentType !== "object") {
      return `reads ${text}, but ${walked} is ${article(currentType)}`;
    }
    const properties = asSchema(currentSchema?.properties);
    const declared = properties?.[segment];
    if (declared === undefined && currentSchema?.additionalProperties === false) {
      return `reads ${text}, but the schema of ${walked} declares no field "${segment}"`;
    }
    currentSchema = asSchema(declared);
    currentType = schemaType(currentSchema);
    walked = `${walked}.${segment}`;
  }
  return null;
}

function asSchema(value: unknown): JsonSchema | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as JsonSchema)
    : undefined;
}

/** `a string`, `an object`, `an array`, `an integer`. */
export function article(type: JsonType): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function plural(type: JsonType): string {
  return type === "boolean" ? "booleans" : `${type}s`;
}
