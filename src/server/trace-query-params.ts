import { KeelError } from "../errors/keel-error.ts";

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

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

/** What an instant query field takes, in words. */
export const INSTANT_EXPECTED =
  "expected an ISO date-time or a duration (ms, s, m, h, d, w) within the years 1 to 9999";

/**
 * The instant a query value names, or null when it names none or one outside the years 1 to 9999: well inside what
 * a PostgreSQL timestamp holds, so no comparison with a column can fail.
 */
export function instantOf(value: string, now: Date = new Date()): Date | null {
  const match = DURATION.exec(value);
  const at = match
    ? new Date(now.getTime() - Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS])
    : new Date(Date.parse(value));
  const year = at.getUTCFullYear();
  return Number.isNaN(at.getTime()) || year < 1 || year > 9999 ? null : at;
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
