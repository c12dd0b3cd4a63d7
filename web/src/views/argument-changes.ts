/** One field an approver changed in a held call's arguments: its JSON path and the values before and after. */
export type ArgumentChange = { path: string; before: unknown; after: unknown };

/**
 * The fields that differ between the arguments shown and the edited ones, object keys and array items walked down
 * to the values that changed, so an approver sees exactly what their edit sends before sending it.
 */
export function argumentChanges(before: unknown, after: unknown, path = ""): ArgumentChange[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const bothObjects =
    typeof before === "object" &&
    before !== null &&
    typeof after === "object" &&
    after !== null &&
    Array.isArray(before) === Array.isArray(after);
  if (!bothObjects) return [{ path: path || "(whole value)", before, after }];
  const left = before as Record<string, unknown>;
  const right = after as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])];
  return keys.flatMap((key) =>
    argumentChanges(
      left[key],
      right[key],
      Array.isArray(before) ? `${path}[${key}]` : path ? `${path}.${key}` : key,
    ),
  );
}
