import { KeelError } from "../../errors/keel-error.ts";

/**
 * RFC 8785 canonical JSON, written for speed: the audit verifier canonicalises every payload in the journal,
 * so this skips the general library's cycle tracking and `toJSON` handling, which values parsed from JSON never
 * need. Output is identical to `canonicalJson` (src/journal/hash.ts) for every JSON value; the tests hold the
 * two to that. Keys sort by UTF-16 code units (JavaScript's default sort), strings and numbers are written as
 * ECMAScript's JSON.stringify writes them, which is what RFC 8785 §3.2.2 specifies.
 */
export function fastCanonicalJson(value: unknown): string {
  switch (typeof value) {
    case "string":
      if (!value.isWellFormed()) throw new KeelError("invalid_request", "a string holds a lone surrogate");
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new KeelError("invalid_request", `${value} is not a JSON number`);
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let text = "[";
        for (let index = 0; index < value.length; index++) {
          if (index > 0) text += ",";
          const item: unknown = value[index];
          text += item === undefined || typeof item === "function" ? "null" : fastCanonicalJson(item);
        }
        return `${text}]`;
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      let text = "{";
      let first = true;
      for (const key of keys) {
        const item = record[key];
        if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
        if (!first) text += ",";
        first = false;
        text += `${fastCanonicalJson(key)}:${fastCanonicalJson(item)}`;
      }
      return `${text}}`;
    }
    default:
      throw new KeelError("invalid_request", `a ${typeof value} is not a JSON value`);
  }
}
