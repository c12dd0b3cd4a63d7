import { KeelError } from "../errors/index.ts";

const WHOLE = /^\{\{\s*([^}]+?)\s*\}\}$/;
const PART = /\{\{\s*([^}]+?)\s*\}\}/g;

/** Follow a dotted path (`results.get_order.items.0.sku`) through objects and arrays. */
export function lookupPath(scope: unknown, path: string): { found: boolean; value: unknown } {
  let current: unknown = scope;
  for (const key of path.split(".")) {
    if (current === null || typeof current !== "object" || !Object.hasOwn(current, key)) {
      return { found: false, value: undefined };
    }
    current = (current as Record<string, unknown>)[key];
  }
  return { found: true, value: current };
}

/**
 * Fill `{{path}}` placeholders from a scope. A string that is exactly one placeholder keeps the value's type
 * (so an amount stays a number); placeholders inside text are rendered as text. Objects and arrays are
 * filled recursively. A path that does not resolve is an error naming it.
 */
export function resolveTemplate(template: unknown, scope: unknown, where: string): unknown {
  if (typeof template === "string") {
    const whole = WHOLE.exec(template);
    if (whole) return resolvePath(scope, whole[1]!, where);
    return template.replace(PART, (_match, path: string) => renderText(resolvePath(scope, path, where)));
  }
  if (Array.isArray(template)) return template.map((item) => resolveTemplate(item, scope, where));
  if (template !== null && typeof template === "object") {
    return Object.fromEntries(
      Object.entries(template).map(([key, value]) => [key, resolveTemplate(value, scope, where)]),
    );
  }
  return template;
}

function resolvePath(scope: unknown, path: string, where: string): unknown {
  const { found, value } = lookupPath(scope, path);
  if (!found) throw new KeelError("model_failed", `${where}: template path "${path}" does not resolve`);
  return value;
}

function renderText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
