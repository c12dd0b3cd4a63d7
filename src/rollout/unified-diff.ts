/**
 * A unified diff of two texts, line by line (longest common subsequence), with `context` lines around each change:
 * what a reviewer reads to see a proposed spec change before applying it.
 */
export function unifiedDiff(options: {
  before: string;
  after: string;
  fromFile: string;
  toFile: string;
  context?: number;
}): string {
  const context = options.context ?? 3;
  const a = splitLines(options.before);
  const b = splitLines(options.after);
  const operations = diffLines(a, b);
  if (operations.every((operation) => operation.kind === "same")) return "";
  const lines = [`--- ${options.fromFile}`, `+++ ${options.toFile}`];
  let index = 0;
  while (index < operations.length) {
    if (operations[index]!.kind === "same") {
      index++;
      continue;
    }
    const start = Math.max(0, index - context);
    let end = index;
    // Extend the hunk while the next change is within 2 × context unchanged lines.
    for (let cursor = index; cursor < operations.length; cursor++) {
      if (operations[cursor]!.kind !== "same") end = cursor;
      else if (cursor - end > 2 * context) break;
    }
    end = Math.min(operations.length - 1, end + context);
    const hunk = operations.slice(start, end + 1);
    const first = operations[start]!;
    const oldCount = hunk.filter((operation) => operation.kind !== "add").length;
    const newCount = hunk.filter((operation) => operation.kind !== "remove").length;
    lines.push(
      `@@ -${first.oldLine + (oldCount === 0 ? 0 : 1)},${oldCount} +${first.newLine + (newCount === 0 ? 0 : 1)},${newCount} @@`,
    );
    for (const operation of hunk) {
      const prefix = operation.kind === "same" ? " " : operation.kind === "add" ? "+" : "-";
      lines.push(`${prefix}${operation.text}`);
    }
    index = end + 1;
  }
  return `${lines.join("\n")}\n`;
}

type Operation = { kind: "same" | "add" | "remove"; text: string; oldLine: number; newLine: number };

function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** The edit script from `a` to `b`; each operation carries how many old and new lines precede it. */
function diffLines(a: readonly string[], b: readonly string[]): Operation[] {
  const common: number[][] = Array.from({ length: a.length + 1 }, () =>
    new Array<number>(b.length + 1).fill(0),
  );
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      common[i]![j] =
        a[i] === b[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
    }
  }
  const operations: Operation[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      operations.push({ kind: "same", text: a[i]!, oldLine: i, newLine: j });
      i++;
      j++;
    } else if (i < a.length && (j === b.length || common[i + 1]![j]! >= common[i]![j + 1]!)) {
      operations.push({ kind: "remove", text: a[i]!, oldLine: i, newLine: j });
      i++;
    } else {
      operations.push({ kind: "add", text: b[j]!, oldLine: i, newLine: j });
      j++;
    }
  }
  return operations;
}
