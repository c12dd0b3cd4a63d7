import { INSTANT_EXPECTED, instantOf } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";

/** A point in time from a query string: an ISO date-time, or a duration back from now (`24h`, `7d`, `30m`). */
export function parseInstant(
  value: string | undefined,
  field: string,
  now: Date = new Date(),
): Date | undefined {
  if (value === undefined || value === "") return undefined;
  const instant = instantOf(value, now);
  if (instant === null) {
    throw new KeelError(
      "invalid_request",
      `${field} must be an ISO date-time or a duration such as 24h, within the years 1 to 9999`,
      { issues: [{ path: field, message: INSTANT_EXPECTED }] },
    );
  }
  return instant;
}

/** A non-negative number from a query string, or undefined when absent. */
export function parseNumber(value: string | undefined, field: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) {
    throw new KeelError("invalid_request", `${field} must be a non-negative number`, {
      issues: [{ path: field, message: "expected a non-negative number" }],
    });
  }
  return parsed;
}

/** `true`/`false` from a query string, or undefined when absent. */
export function parseFlag(value: string | undefined, field: string): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new KeelError("invalid_request", `${field} must be true or false`, {
    issues: [{ path: field, message: "expected true or false" }],
  });
}
