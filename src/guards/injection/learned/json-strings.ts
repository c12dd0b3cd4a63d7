/** Nesting beyond this is not read: no real payload is that deep, and a hostile one should not exhaust the stack. */
const MAX_DEPTH = 32;

/**
 * A structured value as a model would read it: every object key and string value in document order; numbers,
 * booleans and punctuation say nothing a reader acts on. Keys are kept, so an instruction written as a key is read
 * like one written as a value. `each` may rewrite a string value, or drop it by answering null.
 */
export function keysAndStrings(
  value: unknown,
  each: (text: string) => string | null = (text) => text,
): string[] {
  const parts: string[] = [];
  const visit = (item: unknown, depth: number) => {
    if (depth > MAX_DEPTH) return;
    if (typeof item === "string") {
      const text = each(item);
      if (text !== null) parts.push(text);
    } else if (Array.isArray(item)) for (const element of item) visit(element, depth + 1);
    else if (item !== null && typeof item === "object") {
      for (const [key, field] of Object.entries(item)) {
        parts.push(key);
        visit(field, depth + 1);
      }
    }
  };
  visit(value, 0);
  return parts;
}

/**
 * A JSON object or array's text read as its keys and string values (`keysAndStrings`), one per line, with escapes
 * resolved (`"a\nb"` is two lines, not the word "nb"). Null when the text is not a JSON object or array.
 */
export function jsonStrings(text: string): string | null {
  const trimmed = text.trim();
  if (!(trimmed.startsWith("{") || trimmed.startsWith("["))) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return null;
  }
  return keysAndStrings(parsed).join("\n");
}
