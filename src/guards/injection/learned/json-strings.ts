/** Nesting beyond this is not read: no real payload is that deep, and a hostile one should not exhaust the stack. */
const MAX_DEPTH = 32;

/**
 * A JSON object or array as a model would read it: every key and string value in document order, one per line,
 * with escapes resolved (`"a\nb"` is two lines, not the word "nb"); numbers, booleans and punctuation say nothing
 * a reader acts on. Keys are kept, so an instruction written as a key is read like one written as a value. Null
 * when the text is not a JSON object or array.
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
  const parts: string[] = [];
  const visit = (value: unknown, depth: number) => {
    if (depth > MAX_DEPTH) return;
    if (typeof value === "string") parts.push(value);
    else if (Array.isArray(value)) for (const item of value) visit(item, depth + 1);
    else if (value !== null && typeof value === "object") {
      for (const [key, item] of Object.entries(value)) {
        parts.push(key);
        visit(item, depth + 1);
      }
    }
  };
  visit(parsed, 0);
  return parts.join("\n");
}
