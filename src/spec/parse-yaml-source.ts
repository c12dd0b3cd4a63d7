import { dirname, resolve } from "node:path";
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  visit,
} from "yaml";
import { readTextFile } from "./read-text-file.ts";
import type { SpecIssue } from "./spec-error.ts";

/** A 1-based position in a file. */
export type SourcePosition = { line: number; column: number };

/** A YAML file parsed with positions: its plain data, its syntax issues, and a way back from a field to a line. */
export type YamlSource = {
  file: string;
  /** Plain JSON-like data (undefined when the file has syntax issues). */
  data: unknown;
  /** YAML syntax problems and values JSON cannot hold; when there are any, `data` is not to be trusted. */
  issues: SpecIssue[];
  /**
   * Where the field at `path` is. `value` points at its value; `key` at its key. When the path does not
   * exist (a missing field), the nearest node that does exist, which is the mapping that should hold it.
   */
  locate(path: readonly PropertyKey[], target?: "value" | "key"): SourcePosition;
};

/** Parses one YAML document keeping node positions, so validation issues can name a file, line and column. */
export function parseYamlSource(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const positionOf = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const issues: SpecIssue[] = document.errors.map((error) => ({
    file,
    ...positionOf(error.pos[0]),
    path: "",
    message: error.message,
  }));
  let data: unknown;
  if (issues.length === 0) {
    issues.push(...findNonJsonValues(document, file, positionOf));
    if (issues.length === 0) data = toPlainData(document, file, issues);
  }
  return {
    file,
    data,
    issues,
    locate(path, target = "value") {
      return positionOf(findOffset(document, path, target));
    },
  };
}

function toPlainData(document: Document, file: string, issues: SpecIssue[]): unknown {
  try {
    return document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    issues.push({ file, line: 1, column: 1, path: "", message: (error as Error).message });
    return undefined;
  }
}

/** Scalars JSON cannot hold (`.inf`, `.nan`, binary): they would make the version hash ill-defined. */
function findNonJsonValues(
  document: Document,
  file: string,
  positionOf: (offset: number) => SourcePosition,
): SpecIssue[] {
  const issues: SpecIssue[] = [];
  visit(document, {
    Scalar(_key, scalar) {
      const value = scalar.value;
      const plain =
        value === null ||
        typeof value === "string" ||
        typeof value === "boolean" ||
        (typeof value === "number" && Number.isFinite(value));
      if (!plain) {
        const message =
          "this value cannot be represented in JSON (use a string, a finite number, true/false or null)";
        issues.push({ file, ...positionOf(scalar.range?.[0] ?? 0), path: "", message });
      }
    },
  });
  return issues;
}

function startOf(node: Node | null | undefined): number | undefined {
  return node?.range?.[0];
}

/** Walks the document along `path`, remembering the last node that existed. */
function findOffset(document: Document, path: readonly PropertyKey[], target: "value" | "key"): number {
  let node: unknown = document.contents;
  let offset = startOf(document.contents) ?? 0;
  for (const [index, segment] of path.entries()) {
    if (isAlias(node)) node = node.resolve(document);
    let next: unknown;
    let keyOffset: number | undefined;
    if (isMap(node)) {
      const pair = (node.items as Pair<unknown, unknown>[]).find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (pair === undefined) return offset;
      keyOffset = startOf(pair.key as Node);
      next = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      next = node.items[segment];
    } else {
      return offset;
    }
    const isLast = index === path.length - 1;
    if (isLast && target === "key" && keyOffset !== undefined) return keyOffset;
    const nextOffset = isBlank(next) ? undefined : startOf(next as Node | null);
    if (nextOffset === undefined) return keyOffset ?? offset;
    node = next;
    offset = nextOffset;
  }
  return offset;
}

/** An empty value (`budgets:` followed by nothing) sits at the end of its line; its key is the better place. */
function isBlank(node: unknown): boolean {
  return isScalar(node) && node.range !== undefined && node.range !== null && node.range[0] === node.range[1];
}

/** Read and parse one YAML spec file: its absolute path, its folder and its source, or the issues that stopped it. */
export async function readYamlSource(
  file: string,
): Promise<{ ok: true; path: string; dir: string; source: YamlSource } | { ok: false; issues: SpecIssue[] }> {
  const path = resolve(file);
  const read = await readTextFile(path);
  if ("problem" in read) {
    return { ok: false, issues: [{ file: path, line: 1, column: 1, path: "", message: read.problem }] };
  }
  const source = parseYamlSource(path, read.text);
  if (source.issues.length > 0) return { ok: false, issues: source.issues };
  return { ok: true, path, dir: dirname(path), source };
}
