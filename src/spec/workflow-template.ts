/**
 * Workflow templates: text with `${state.invoice.id}`, `${input.customer}` or `${item.sku}` references, the same
 * paths the condition language reads. `$${` writes a literal `${`. A template that is exactly one reference
 * yields the value itself (an object stays an object); any other template yields text.
 */

/** Where a template or condition reads: the workflow's state, the run's input, or the current `map` item. */
export type ReferenceRoot = "state" | "input" | "item";

/** A read of a value: its root and the path below it (empty for the whole `input` or `item`). */
export type Reference = { root: ReferenceRoot; path: string[] };

/** One piece of a template: literal text, or a reference to be filled in. */
export type TemplatePart = { kind: "text"; text: string } | { kind: "reference"; reference: Reference };

/** A parsed template, with the text it was written as. */
export type Template = { source: string; parts: TemplatePart[] };

/** The template, or why it does not parse (with the 1-based column inside the template text). */
export type ParsedTemplate =
  | { ok: true; template: Template }
  | { ok: false; message: string; column: number };

const ROOTS: readonly ReferenceRoot[] = ["state", "input", "item"];
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parse `${…}` references out of a template; never throws. */
export function parseTemplate(source: string): ParsedTemplate {
  const parts: TemplatePart[] = [];
  let text = "";
  let position = 0;
  while (position < source.length) {
    if (source.startsWith("$${", position)) {
      text += "${";
      position += 3;
      continue;
    }
    if (!source.startsWith("${", position)) {
      text += source[position];
      position += 1;
      continue;
    }
    const close = source.indexOf("}", position + 2);
    if (close === -1) return { ok: false, message: 'a "${" is never closed with "}"', column: position + 1 };
    const parsed = parseReference(source.slice(position + 2, close).trim());
    if (!parsed.ok) return { ok: false, message: parsed.message, column: position + 3 };
    if (text !== "") parts.push({ kind: "text", text });
    text = "";
    parts.push({ kind: "reference", reference: parsed.reference });
    position = close + 1;
  }
  if (text !== "") parts.push({ kind: "text", text });
  return { ok: true, template: { source, parts } };
}

/** `state.a.b`, `item`, `input.x` as a reference; `state` alone is refused (it would read every field). */
export function parseReference(
  text: string,
): { ok: true; reference: Reference } | { ok: false; message: string } {
  const [root, ...path] = text.split(".");
  if (!ROOTS.includes(root as ReferenceRoot)) {
    return {
      ok: false,
      message: `expected a reference starting with state, input or item, such as state.invoice.id, but found "${text}"`,
    };
  }
  const bad = path.find((segment) => !NAME.test(segment));
  if (bad !== undefined) return { ok: false, message: `"${bad}" in "${text}" is not a field name` };
  if (root === "state" && path.length === 0) {
    return { ok: false, message: "name a state field, such as state.invoice" };
  }
  return { ok: true, reference: { root: root as ReferenceRoot, path } };
}

/** Every reference a template reads, in order. */
export function templateReferences(template: Template): Reference[] {
  return template.parts.flatMap((part) => (part.kind === "reference" ? [part.reference] : []));
}

/** `state.invoice.id`. */
export function formatReference(reference: Reference): string {
  return [reference.root, ...reference.path].join(".");
}
