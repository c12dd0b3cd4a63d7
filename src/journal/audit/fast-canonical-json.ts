import { KeelError } from "../../errors/index.ts";
import { tooDeepOrLarge } from "../too-deep-or-large.ts";

/**
 * RFC 8785 canonical JSON, written for speed: the audit verifier canonicalises every payload in the journal,
 * so this skips the general library's cycle tracking and `toJSON` handling, which values parsed from JSON never
 * need. Output is identical to `canonicalJson` (src/journal/hash.ts) for every JSON value; the tests hold the
 * two to that. Keys sort by UTF-16 code units (JavaScript's default sort), strings and numbers are written as
 * ECMAScript's JSON.stringify writes them, which is what RFC 8785 §3.2.2 specifies. Like `canonicalJson`, it refuses
 * a value too deep for the stack with a KeelError rather than letting the overflow escape.
 */
export function fastCanonicalJson(value: unknown): string {
  try {
    return writeCanonical(value);
  } catch (error) {
    throw error instanceof RangeError ? tooDeepOrLarge(error) : error;
  }
}

function writeCanonical(value: unknown): string {
  switch (typeof value) {
    case "string":
      return canonicalString(value);
    case "number":
      if (!Number.isFinite(value)) throw new KeelError("invalid_request", `${value} is not a JSON number`);
      // For a finite number, String writes what JSON.stringify writes (ECMAScript Number::toString).
      return String(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let text = "[";
        for (let index = 0; index < value.length; index++) {
          if (index > 0) text += ",";
          const item: unknown = value[index];
          text += item === undefined || typeof item === "function" ? "null" : writeCanonical(item);
        }
        return `${text}]`;
      }
      const record = value as Record<string, unknown>;
      const keys = sortedKeys(record);
      let text = "{";
      let first = true;
      for (const key of keys) {
        const item = record[key];
        if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
        if (!first) text += ",";
        first = false;
        text += canonicalString(key);
        text += ":";
        text += writeCanonical(item);
      }
      return `${text}}`;
    }
    default:
      throw new KeelError("invalid_request", `a ${typeof value} is not a JSON value`);
  }
}

// Anything JSON.stringify would escape, and any surrogate (paired ones are fine but rare, so they take the
// slow path too); a string with none of these is written as itself between quotes.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON escapes
export const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** A string as RFC 8785 writes it; a lone surrogate cannot be written. */
export function canonicalString(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return `"${value}"`;
  if (!value.isWellFormed()) throw new KeelError("invalid_request", "a string holds a lone surrogate");
  return JSON.stringify(value);
}

/** An object's keys in UTF-16 code unit order: insertion sort, as payload objects have a handful of keys. */
export function sortedKeys(record: Record<string, unknown>): string[] {
  const keys = Object.keys(record);
  if (keys.length > 16) return keys.sort();
  for (let index = 1; index < keys.length; index++) {
    const key = keys[index]!;
    let slot = index - 1;
    while (slot >= 0 && keys[slot]! > key) {
      keys[slot + 1] = keys[slot]!;
      slot--;
    }
    keys[slot + 1] = key;
  }
  return keys;
}
