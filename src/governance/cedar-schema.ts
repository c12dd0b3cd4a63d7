import type * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import {
  CALL_MODEL,
  CALL_TOOL,
  DELEGATE,
  HANDOFF,
  NAMESPACE,
  SEND_MESSAGE,
  toolActionId,
} from "./cedar-names.ts";
import type { GovernedTool } from "./governed-agent.ts";

/** The Cedar types arguments are given (a subset of Cedar's schema types). */
export type CedarType = (
  | { type: "String" }
  | { type: "Long" }
  | { type: "Boolean" }
  | { type: "Extension"; name: "decimal" }
  | { type: "Set"; element: CedarType }
  | { type: "Record"; attributes: Record<string, CedarType> }
) & { required?: boolean };
type JsonSchema = Record<string, unknown>;

const STRING: CedarType = { type: "String" };
const LONG: CedarType = { type: "Long" };
const BOOLEAN: CedarType = { type: "Boolean" };
const DECIMAL: CedarType = { type: "Extension", name: "decimal" };
const STRING_SET: CedarType = { type: "Set", element: STRING };

const optional = (type: CedarType): CedarType => ({ ...type, required: false });
const asCedar = (type: CedarType) => type as cedar.TypeOfAttribute<string>;
const record = (attributes: Record<string, CedarType>): CedarType => ({ type: "Record", attributes });

/**
 * The Cedar schema of an agent's tools: entity types (Agent, User, Role, Tenant, Tool, Model, Target) and one
 * action per tool, `tool:<name>` in the group `call_tool`, whose `context.input` is typed from the tool's JSON
 * Schema. `keel policy validate` checks every policy against it, so a policy naming a field a tool does not have
 * fails before it is deployed.
 */
export function generateCedarSchema(tools: readonly GovernedTool[]): cedar.SchemaJson<string> {
  const principalTypes = ["Agent", "User"];
  const session = record({ dataClasses: STRING_SET });
  const user = record({ subject: STRING, tenant: STRING, roles: STRING_SET });
  const actions: Record<string, cedar.ActionType<string>> = { [CALL_TOOL]: {} };
  for (const tool of tools) {
    actions[toolActionId(tool.name)] = {
      memberOf: [{ id: CALL_TOOL }],
      appliesTo: {
        principalTypes,
        resourceTypes: ["Tool"],
        context: asCedar(
          record({
            input: objectType(tool.inputSchema) ?? record({}),
            numbers: record(
              Object.fromEntries(leafPaths(tool.inputSchema).map((path) => [path, optional(DECIMAL)])),
            ),
            session,
            user,
            argumentsHash: STRING,
            records: optional(LONG),
          }),
        ),
      },
    };
  }
  actions[CALL_MODEL] = {
    appliesTo: { principalTypes, resourceTypes: ["Model"], context: asCedar(record({ session, user })) },
  };
  for (const action of [HANDOFF, SEND_MESSAGE]) {
    actions[action] = {
      appliesTo: { principalTypes, resourceTypes: ["Target"], context: asCedar(record({ session, user })) },
    };
  }
  actions[DELEGATE] = {
    appliesTo: { principalTypes, resourceTypes: ["Agent"], context: asCedar(record({ session, user })) },
  };
  return {
    [NAMESPACE]: {
      entityTypes: {
        Tenant: {},
        Role: {},
        Agent: { shape: asCedar(record({ name: STRING, version: STRING })) },
        User: {
          memberOfTypes: ["Role", "Tenant"],
          shape: asCedar(record({ subject: STRING, tenant: STRING, roles: STRING_SET })),
        },
        Tool: {
          shape: asCedar(
            record({ name: STRING, dataClasses: STRING_SET, sendsDataOutside: BOOLEAN, sideEffect: BOOLEAN }),
          ),
        },
        Model: { shape: asCedar(record({ provider: STRING, id: STRING })) },
        Target: {},
      },
      actions,
    },
  };
}

/**
 * The Cedar type of a JSON Schema, or null when Cedar cannot say it (unions of different types, null, any).
 * Every object attribute is optional: arguments may leave out what has a default.
 */
export function cedarTypeOf(schema: JsonSchema): CedarType | null {
  const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (variants) {
    const types = variants.map(cedarTypeOf);
    const first = types[0];
    if (!first || types.some((type) => JSON.stringify(type) !== JSON.stringify(first))) return null;
    return first;
  }
  const type = Array.isArray(schema.type) ? null : schema.type;
  if (type === undefined && Array.isArray(schema.enum)) {
    return schema.enum.every((value) => typeof value === "string") ? STRING : null;
  }
  if (type === undefined && typeof schema.const === "string") return STRING;
  switch (type) {
    case "string":
      return STRING;
    case "integer":
      return LONG;
    case "number":
      return DECIMAL;
    case "boolean":
      return BOOLEAN;
    case "array": {
      const items = schema.items as JsonSchema | undefined;
      const element = items ? cedarTypeOf(items) : null;
      return element ? { type: "Set", element } : null;
    }
    case "object":
      return objectType(schema);
    default:
      return null;
  }
}

export function objectType(schema: JsonSchema): CedarType | null {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (schema.type !== "object" && !properties) return null;
  const attributes: Record<string, CedarType> = {};
  for (const [name, property] of Object.entries(properties ?? {})) {
    const type = cedarTypeOf(property);
    if (type) attributes[name] = optional(type);
  }
  return record(attributes);
}

/** Dotted paths of every leaf below objects (`customer.country`), the keys of `context.numbers`. */
export function leafPaths(schema: JsonSchema, prefix = ""): string[] {
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (!properties) return prefix === "" ? [] : [prefix];
  return Object.entries(properties).flatMap(([name, property]) =>
    leafPaths(property, prefix === "" ? name : `${prefix}.${name}`),
  );
}
