import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { basename, dirname, extname, resolve } from "node:path";
import { KeelError } from "../errors/index.ts";
import { formatSpecIssue, parseYamlSource, type SpecIssue, validateYamlSource } from "../spec/index.ts";
import { type DatasetFile, DatasetFile as DatasetFileSchema, EvalCase } from "./eval-case.ts";
import { casesFromInjectionCorpus } from "./injection-corpus.ts";

/** A dataset as loaded: its cases, where it came from, and a version that changes whenever its content does. */
export type Dataset = Omit<DatasetFile, "cases" | "corpus"> & {
  file: string;
  /** `sha256:` of the file's text (and of an imported corpus): results name the exact cases they graded. */
  version: string;
  cases: EvalCase[];
};

/**
 * Load a dataset kept beside the agent: YAML (a `DatasetFile`) or JSONL (one case per line, the dataset named
 * after the file). Every problem is reported with its file and line; duplicate case ids are refused.
 */
export async function loadDataset(file: string): Promise<Dataset> {
  const path = resolve(file);
  const text = await readFile(path, "utf8").catch((error: unknown) => {
    throw new KeelError("not_found", `cannot read dataset ${file}: ${(error as Error).message}`);
  });
  const hash = createHash("sha256").update(text);
  const parsed = extname(path) === ".jsonl" ? parseJsonl(path, text) : parseYaml(path, text);
  const cases = [...parsed.cases];
  if (parsed.corpus) {
    const corpusPath = resolve(dirname(path), parsed.corpus.file);
    const corpusText = await readFile(corpusPath, "utf8").catch((error: unknown) => {
      throw new KeelError(
        "not_found",
        `${file}: cannot read corpus ${parsed.corpus?.file}: ${(error as Error).message}`,
      );
    });
    hash.update(corpusText);
    cases.push(...casesFromInjectionCorpus(corpusText, parsed.corpus));
  }
  const seen = new Set<string>();
  for (const entry of cases) {
    if (seen.has(entry.id))
      throw new KeelError("invalid_spec", `${file}: case id "${entry.id}" appears twice`);
    seen.add(entry.id);
  }
  const { corpus: _corpus, cases: _cases, ...rest } = parsed;
  return { ...rest, file: path, version: `sha256:${hash.digest("hex")}`, cases };
}

function parseYaml(path: string, text: string): DatasetFile {
  const source = parseYamlSource(path, text);
  if (source.issues.length > 0) throw invalid(source.issues);
  const { value, issues } = validateYamlSource(source, DatasetFileSchema);
  if (!value) throw invalid(issues);
  return value;
}

function parseJsonl(path: string, text: string): DatasetFile {
  const issues: SpecIssue[] = [];
  const cases: EvalCase[] = [];
  for (const [index, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const where = { file: path, line: index + 1, column: 1 };
    let data: unknown;
    try {
      data = JSON.parse(line);
    } catch (error) {
      issues.push({ ...where, path: "", message: `not JSON: ${(error as Error).message}` });
      continue;
    }
    const result = EvalCase.safeParse(data);
    if (result.success) cases.push(result.data);
    else
      for (const issue of result.error.issues)
        issues.push({ ...where, path: issue.path.join("."), message: issue.message });
  }
  if (issues.length > 0) throw invalid(issues);
  return DatasetFileSchema.parse({ dataset: basename(path, ".jsonl"), cases });
}

function invalid(issues: readonly SpecIssue[]): KeelError {
  return new KeelError(
    "invalid_spec",
    `invalid dataset:\n${issues.map((issue) => `  ${formatSpecIssue(issue)}`).join("\n")}`,
    { issues: issues.map((issue) => ({ ...issue })) },
  );
}
