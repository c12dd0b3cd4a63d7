import { z } from "zod";

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** What an instant query field takes, in words. */
export const INSTANT_EXPECTED =
  "expected an ISO date-time or a duration (ms, s, m, h, d, w) within the years 1 to 9999";

/**
 * The instant a query value names — an ISO date-time, or a duration back from now (`24h`, `7d`, `30m`) — or null
 * when it names none or one outside the years 1 to 9999: well inside what a PostgreSQL timestamp holds, so no
 * comparison with a column can fail.
 */
export function instantOf(value: string, now: Date = new Date()): Date | null {
  const match = DURATION.exec(value);
  const at = match
    ? new Date(now.getTime() - Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS])
    : new Date(Date.parse(value));
  const year = at.getUTCFullYear();
  return Number.isNaN(at.getTime()) || year < 1 || year > 9999 ? null : at;
}

/** The most US dollars a cost filter may name: costs are compared as nano-dollars in a bigint column. */
export const MAX_USD = 9_223_372_036;
/** The largest event sequence number: `seq` is an integer column. */
export const MAX_SEQ = 2_147_483_647;

/** A path parameter: what every route's identifiers look like. */
export const Identifier = z
  .string()
  .regex(/^[A-Za-z0-9._:@~-]{1,200}$/, "expected 1 to 200 letters, digits or ._:@~-");

/** Query field schemas, each bounded to what the column it is compared with can hold. */
export const text = z.string().min(1).max(200);
export const count = z.string().regex(/^\d{1,6}$/, "expected a whole number from 0 to 999999");
export const decimal = z.string().regex(/^\d{1,12}(\.\d{1,9})?$/, "expected a non-negative number");
export const usd = decimal.refine(
  (value) => Number(value) <= MAX_USD,
  `expected at most ${MAX_USD} (US dollars)`,
);
export const flag = z.enum(["true", "false", "1", "0"]);
export const instant = z
  .string()
  .min(1)
  .max(40)
  .refine((value) => instantOf(value) !== null, INSTANT_EXPECTED);
/** A duration back from now (`1d`), or a window of two (`8d..1d`), as the drift check takes them. */
export const span = z.string().regex(/^\d{1,5}[smhd]$/, "expected a duration such as 1d (s, m, h, d)");
export const spanRange = z
  .string()
  .regex(/^\d{1,5}[smhd](\.\.\d{1,5}[smhd])?$/, "expected a window such as 8d..1d (s, m, h, d)");
/** An event sequence number. */
export const seq = z
  .string()
  .regex(/^\d{1,10}$/, `expected a whole number from 0 to ${MAX_SEQ}`)
  .refine((value) => Number(value) <= MAX_SEQ, `expected a whole number from 0 to ${MAX_SEQ}`);
/** The time window most telemetry views take. */
export const window = { agent: text, since: instant, until: instant };
