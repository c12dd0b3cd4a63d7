import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";

const ajv = new Ajv({ strict: false, allErrors: true });
const validators = new WeakMap<object, ValidateFunction>();

/** A structured answer checked: the parsed value, or why it does not match (said so the model can fix it). */
export type StructuredAnswer = { ok: true; value: unknown } | { ok: false; why: string };

/**
 * Parse a final answer as JSON (a Markdown code fence around it is allowed) and validate it against the agent's
 * output schema, naming every violation by its JSON pointer.
 */
export function checkStructuredAnswer(schema: Record<string, unknown>, text: string): StructuredAnswer {
  const json = text
    .trim()
    .replace(/^```(?:json)?\s*/i, "")
    .replace(/\s*```$/, "");
  let value: unknown;
  try {
    value = JSON.parse(json) as unknown;
  } catch (error) {
    return { ok: false, why: `the answer is not JSON (${(error as Error).message})` };
  }
  let validate = validators.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    validators.set(schema, validate);
  }
  if (validate(value)) return { ok: true, value };
  return { ok: false, why: (validate.errors ?? []).map(describeViolation).join("; ") };
}

/** What the model is told after an answer that does not match: the violations, and to answer again. */
export function outputRejectionMessage(why: string): string {
  return `Your answer does not match the required output schema: ${why}. Answer again with only a JSON value that matches the schema, and no other text.`;
}

function describeViolation(error: ErrorObject): string {
  const at = error.instancePath || "/";
  const extra =
    error.keyword === "additionalProperties" ? ` (${String(error.params.additionalProperty)})` : "";
  const allowed =
    error.keyword === "enum" ? ` (${(error.params.allowedValues as unknown[]).map(String).join(", ")})` : "";
  return `${at} ${error.message ?? "is invalid"}${extra}${allowed}`;
}
