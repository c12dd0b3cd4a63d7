import { NEEDS_ESCAPE, sortedKeys } from "./audit/fast-canonical-json.ts";

/**
 * RFC 8785 canonical JSON of a value that is plain, storable JSON, or null when it holds anything else. Appends
 * canonicalise every payload, and almost every payload is plain JSON built by Keel itself, so this writes those
 * without the general library's cycle tracking and `toJSON` calls; a null sends the caller down the general path
 * (`canonicalJson` in hash.ts), which gives the same errors and results it always has.
 *
 * It returns a string only when that string is exactly what `canonicalJson` writes for the value and every
 * string in it (keys included) can be stored by PostgreSQL's jsonb; tests hold it to that. So it gives up on:
 * anything with a `toJSON` method (a Date), a number that is not finite, a bigint, symbol or function, an
 * `undefined` or hole in an array or at the top, a string with a NUL character or any surrogate that is not
 * part of a well-formed pair, and a value nested deep enough to exhaust the stack (or cyclic). An `undefined`
 * object field is left out, as both JSON.stringify and the library do.
 */
export function plainCanonicalJson(value: unknown): string | null {
  try {
    return write(value);
  } catch {
    // NOT_PLAIN, a stack overflow, or a getter that threw: the general path meets the same and reports it.
    return null;
  }
}

/** Thrown (not allocated per throw) to leave the walk as soon as a value is not plain. */
const NOT_PLAIN = Symbol("not plain JSON");

function write(value: unknown): string {
  switch (typeof value) {
    case "string":
      return writeString(value);
    case "number":
      if (!Number.isFinite(value)) throw NOT_PLAIN;
      // For a finite number, String writes what JSON.stringify writes (ECMAScript Number::toString), -0 as 0.
      return String(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (typeof (value as { toJSON?: unknown }).toJSON === "function") throw NOT_PLAIN;
      if (Array.isArray(value)) {
        let text = "[";
        for (let index = 0; index < value.length; index++) {
          const item: unknown = value[index];
          if (item === undefined) throw NOT_PLAIN;
          if (index > 0) text += ",";
          text += write(item);
        }
        return `${text}]`;
      }
      const record = value as Record<string, unknown>;
      let text = "{";
      let first = true;
      for (const key of sortedKeys(record)) {
        const item = record[key];
        if (item === undefined) continue;
        if (!first) text += ",";
        first = false;
        text += writeString(key);
        text += ":";
        text += write(item);
      }
      return `${text}}`;
    }
    default:
      throw NOT_PLAIN;
  }
}

function writeString(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return `"${value}"`;
  // jsonb refuses NUL and unpaired surrogates; the general path reports them with the field's path.
  if (value.includes("\u0000") || !value.isWellFormed()) throw NOT_PLAIN;
  return JSON.stringify(value);
}
