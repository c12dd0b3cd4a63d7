import type { CedarType } from "./cedar-schema.ts";
import { decimalText, decimalValue } from "./cedar-values.ts";

/**
 * Arguments as the Cedar value their schema type says (see cedar-schema.ts). A value that does not fit its
 * declared type, and any field the schema cannot type, is left out: policies see only what the schema promises.
 */
export function toCedarValue(value: unknown, type: CedarType): unknown {
  switch (type.type) {
    case "String":
      return typeof value === "string" ? value : undefined;
    case "Long":
      return typeof value === "number" && Number.isSafeInteger(value) ? value : undefined;
    case "Boolean":
      return typeof value === "boolean" ? value : undefined;
    case "Extension": {
      if (typeof value !== "number") return undefined;
      const text = decimalText(value);
      return text === null ? undefined : decimalValue(text);
    }
    case "Set": {
      if (!Array.isArray(value)) return undefined;
      const items = value.map((item) => toCedarValue(item, type.element));
      return items.some((item) => item === undefined) ? undefined : items;
    }
    case "Record": {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
      const converted: Record<string, unknown> = {};
      for (const [name, attribute] of Object.entries(type.attributes)) {
        if (!Object.hasOwn(value, name)) continue;
        const inner = toCedarValue((value as Record<string, unknown>)[name], attribute);
        if (inner !== undefined) converted[name] = inner;
      }
      return converted;
    }
    default:
      return undefined;
  }
}
