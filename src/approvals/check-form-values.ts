import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { KeelError } from "../errors/index.ts";

const ajv = new Ajv({ strict: false, allErrors: true });
const validators = new Map<string, ValidateFunction>();

/**
 * Check a task's filled-in form against the form's JSON Schema. Bad values are the person's input, so they are
 * refused with `invalid_request` naming each field (`values.amount`), and nothing is journaled: the request stays
 * open for a corrected form.
 */
export function checkFormValues(form: unknown, values: Record<string, unknown>): void {
  if (form === null || typeof form !== "object") return;
  const key = JSON.stringify(form);
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(form as object);
    validators.set(key, validate);
  }
  if (validate(values)) return;
  const issues = (validate.errors ?? []).map((error) => ({
    path: fieldOf(error),
    message: messageOf(error),
  }));
  throw new KeelError(
    "invalid_request",
    `the form is not filled in as it asks: ${issues.map((issue) => `${issue.path} ${issue.message}`).join("; ")}`,
    { issues },
  );
}

/** `values.amount` for the field an error is about (a missing required field names itself). */
function fieldOf(error: ErrorObject): string {
  const path = error.instancePath
    .split("/")
    .slice(1)
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"));
  if (error.keyword === "required") path.push(String(error.params.missingProperty));
  if (error.keyword === "additionalProperties") path.push(String(error.params.additionalProperty));
  return ["values", ...path].join(".");
}

function messageOf(error: ErrorObject): string {
  if (error.keyword === "required") return "is required";
  if (error.keyword === "additionalProperties") return "is not a field of the form";
  return error.message ?? "is not valid";
}
