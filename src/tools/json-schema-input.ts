import { Ajv } from "ajv";
import { z } from "zod";
import { KeelError } from "../errors/index.ts";
import { rememberInputJsonSchema } from "./execute-tool-call.ts";

const ajv = new Ajv({ strict: false, allErrors: true });

/**
 * The input schema of a tool described by a JSON Schema rather than zod (an MCP server's tool, an HTTP operation):
 * arguments are checked against the JSON Schema as it was declared, each issue naming its field, and the model is
 * offered that same JSON Schema. Throws `invalid_spec` when the schema does not compile or does not describe an
 * object, since tool arguments are always one.
 */
export function jsonSchemaInput(
  schema: Record<string, unknown>,
  what: string,
): z.ZodType<Record<string, unknown>> {
  if (schema.type !== undefined && schema.type !== "object")
    throw new KeelError(
      "invalid_spec",
      `${what}: the input schema must describe an object, not ${JSON.stringify(schema.type)}`,
    );
  let validate: ReturnType<Ajv["compile"]>;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    throw new KeelError(
      "invalid_spec",
      `${what}: the input schema is not a JSON Schema Keel can check against: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const input = z.record(z.string(), z.unknown()).superRefine((value, context) => {
    if (validate(value)) return;
    for (const error of validate.errors ?? []) {
      const path = error.instancePath.split("/").slice(1);
      const missing =
        error.keyword === "required"
          ? (error.params as { missingProperty?: string }).missingProperty
          : undefined;
      const extra =
        error.keyword === "additionalProperties"
          ? (error.params as { additionalProperty?: string }).additionalProperty
          : undefined;
      context.addIssue({
        code: "custom",
        path: missing ? [...path, missing] : extra ? [...path, extra] : path,
        message: missing
          ? "is required"
          : extra
            ? "is not an argument of this tool"
            : (error.message ?? "is not valid"),
        input: value,
      });
    }
  });
  rememberInputJsonSchema(input, { type: "object", ...schema });
  return input;
}
