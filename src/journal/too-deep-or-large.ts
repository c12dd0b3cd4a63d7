import { KeelError } from "../errors/index.ts";

/** The error for a value canonical JSON cannot be written for: nested too deep, or too large for a string. */
export function tooDeepOrLarge(cause: RangeError): KeelError {
  return new KeelError(
    "invalid_request",
    "the value is nested too deeply or is too large to write as canonical JSON",
    { cause },
  );
}
