/**
 * Turning tool arguments into Cedar values. Cedar has whole numbers (Long) and fixed-point `decimal`s with four
 * places, no floats; a number Cedar cannot hold exactly is left out, so a condition that needs it takes its
 * restrictive reading (see compile-condition.ts) instead of a rounded value.
 */

const DECIMAL_LIMIT = 922_337_203_685_477;
const NUMERIC_TEXT = /^\s*[+-]?\d+(\.\d+)?\s*$/;

/** A number as Cedar decimal text ("96.0000"), or null when four decimal places cannot hold it exactly. */
export function decimalText(value: number): string | null {
  if (!Number.isFinite(value) || Math.abs(value) >= DECIMAL_LIMIT) return null;
  const scaled = value * 10_000;
  const rounded = Math.round(scaled);
  if (!Number.isSafeInteger(rounded) || Math.abs(scaled - rounded) > 1e-6) return null;
  const sign = rounded < 0 ? "-" : "";
  const digits = Math.abs(rounded).toString().padStart(5, "0");
  return `${sign}${digits.slice(0, -4)}.${digits.slice(-4)}`;
}

/** Cedar's JSON form of a decimal value. */
export function decimalValue(text: string): { __extn: { fn: "decimal"; arg: string } } {
  return { __extn: { fn: "decimal", arg: text } };
}

/** The numeric reading of a value: a number, or text that spells one ("96.00"); null otherwise. */
export function numericReading(value: unknown): number | null {
  if (typeof value === "number") return value;
  if (typeof value === "string" && NUMERIC_TEXT.test(value)) return Number(value);
  return null;
}

/**
 * Every leaf of the arguments (below objects, not inside lists) that reads as a number, by dotted path, as a
 * Cedar decimal: `{amount: "96.00"}` → `{"amount": decimal("96.0000")}`.
 */
export function numericView(args: unknown): Record<string, unknown> {
  const view: Record<string, unknown> = {};
  const visit = (value: unknown, path: string) => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) visit(inner, path === "" ? key : `${path}.${key}`);
      return;
    }
    if (path === "") return;
    const reading = numericReading(value);
    const text = reading === null ? null : decimalText(reading);
    if (text !== null) view[path] = decimalValue(text);
  };
  visit(args, "");
  return view;
}
