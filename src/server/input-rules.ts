import type { FieldIssue } from "../errors/index.ts";

/**
 * How deep a JSON body may nest: an object or array inside another counts one level, the body itself is level 1.
 * Nothing Keel reads needs more; the bound keeps every later step (canonical JSON, hashing, the store's JSON
 * encoder) far from the recursion limits a body of 1 MiB of brackets would reach.
 */
export const MAX_JSON_DEPTH = 64;

/** Why a string may not enter Keel, or null: PostgreSQL cannot store a NUL, and no encoder can write half a pair. */
export function stringProblem(value: string): string | null {
  if (value.includes("\u0000")) return "must not contain a NUL character";
  if (!value.isWellFormed()) return "must not contain an unpaired surrogate (not valid Unicode)";
  return null;
}

/**
 * The first thing in a parsed JSON value that may not enter Keel, with its dotted path (`messages.0.content`): a
 * string or key that `stringProblem` refuses, a number JSON.parse turned into Infinity, or nesting deeper than
 * `maxDepth`. Walks with an explicit stack, so the check itself cannot overflow however deep the value is.
 */
export function jsonProblem(value: unknown, maxDepth: number = MAX_JSON_DEPTH): FieldIssue | null {
  type Place = { value: unknown; key: string; parent: Place | null; depth: number };
  const pending: Place[] = [{ value, key: "", parent: null, depth: 0 }];
  for (let place = pending.pop(); place !== undefined; place = pending.pop()) {
    const item = place.value;
    if (typeof item === "string") {
      const problem = stringProblem(item);
      if (problem) return { path: pathOf(place), message: problem };
    } else if (typeof item === "number") {
      if (!Number.isFinite(item)) return { path: pathOf(place), message: "is a number too large for JSON" };
    } else if (typeof item === "object" && item !== null) {
      if (place.depth >= maxDepth)
        return { path: pathOf(place), message: `nests deeper than ${maxDepth} levels` };
      const depth = place.depth + 1;
      if (Array.isArray(item)) {
        // Children go on the stack last first, so problems are found in document order.
        for (let index = item.length - 1; index >= 0; index--)
          pending.push({ value: item[index], key: String(index), parent: place, depth });
      } else {
        const keys = Object.keys(item);
        for (const key of keys) {
          const problem = stringProblem(key);
          if (problem)
            return {
              path: pathOf({ value: null, key, parent: place, depth }),
              message: `its key ${problem}`,
            };
        }
        for (let index = keys.length - 1; index >= 0; index--) {
          const key = keys[index]!;
          pending.push({ value: (item as Record<string, unknown>)[key], key, parent: place, depth });
        }
      }
    }
  }
  return null;

  function pathOf(place: Place): string {
    const keys: string[] = [];
    for (let at: Place | null = place; at?.parent; at = at.parent) keys.push(printable(at.key));
    return keys.length === 0 ? "(body)" : keys.reverse().join(".");
  }
}

/** True when a Content-Type names exactly `application/json`; the one parameter allowed is `charset=utf-8`. */
export function isJsonMediaType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...parameters] = header.split(";").map((part) => part.trim().toLowerCase());
  if (type !== "application/json") return false;
  return parameters.every((parameter) => /^charset="?utf-8"?$/.test(parameter) || parameter === "");
}

/** A name as it may appear in an error message: a NUL or a lone surrogate escaped, not sent back raw. */
function printable(name: string): string {
  return stringProblem(name) ? JSON.stringify(name).slice(1, -1) : name;
}
