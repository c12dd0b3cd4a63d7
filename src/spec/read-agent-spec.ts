import { glob } from "node:fs/promises";
import { relative, resolve } from "node:path";
import { a2aToolName } from "./a2a-section.ts";
import { AgentSpec } from "./agent-spec.ts";
import { codeToolNames } from "./code-section.ts";
import { computeVersionHash } from "./compute-version-hash.ts";
import type { PolicyMode } from "./governance-section.ts";
import { httpToolNames } from "./http-section.ts";
import { mcpToolName } from "./mcp-section.ts";
import { providedMemoryTools } from "./memory-section.ts";
import { parseRulesTable } from "./parse-rules-table.ts";
import { readYamlSource, type SourcePosition, type YamlSource } from "./parse-yaml-source.ts";
import { readTextFile } from "./read-text-file.ts";
import type { RulesTable } from "./rules-table.ts";
import type { SpecIssue } from "./spec-error.ts";
import { formatPath, validateYamlSource } from "./validate-yaml-source.ts";
import { type BuildContext, readJsonSchema } from "./workflow-build-context.ts";

/** An agent spec that passed every check, with the files it points to read in. */
export type LoadedAgentSpec = {
  /** Absolute path of the spec file. */
  file: string;
  /** Its directory, against which `prompt` and `model.offline` are resolved. */
  dir: string;
  spec: AgentSpec;
  /** The system prompt's text (line endings normalised to `\n`). */
  prompt: string;
  /** The offline decision table named by `model.offline`, or null when there is none. */
  rules: RulesTable | null;
  /** The team's Cedar policy files named by `governance.policies`, in path order, with their mode. */
  policies: PolicyFile[];
  /** The JSON Schema of the agent's structured answer (`output.schema`, read from its file when it names one), or null. */
  outputSchema: Record<string, unknown> | null;
  /**
   * `sha256:<hex>` over the spec's data, the prompt text, the rules and an output schema kept in its own file: the
   * identity of this version.
   */
  versionHash: string;
};

/** One team Cedar file: its absolute path, its path relative to the spec, its text and its mode. */
export type PolicyFile = { file: string; path: string; text: string; mode: PolicyMode };

/** The outcome of reading one agent spec: loaded (with where its name is, for duplicate reports) or its issues. */
export type AgentSpecOutcome =
  | { ok: true; agent: LoadedAgentSpec; namePosition: SourcePosition }
  | { ok: false; issues: SpecIssue[] };

/** What a spec is checked against beyond its own files. */
export type AgentSpecContext = {
  /**
   * The tools the agent's package provides: every name in `tools:` must be one of them. Omitted when the spec is
   * read on its own (no package known), and then its tool names are not checked.
   */
  providedTools?: readonly string[];
};

/** Reads, validates and hashes one agent spec and the files it names, collecting every issue instead of throwing. */
export async function readAgentSpec(file: string, context: AgentSpecContext = {}): Promise<AgentSpecOutcome> {
  const read = await readYamlSource(file);
  if (!read.ok) return read;
  const { path, dir, source } = read;
  const { value: spec, issues } = validateYamlSource(source, AgentSpec);
  const raw = asRecord(source.data);
  const prompt = await readPrompt(source, dir, raw?.prompt, issues);
  const rules = await readRules(source, dir, asRecord(raw?.model)?.offline, toolNames(spec, raw), issues);
  const policies = spec ? await readPolicies(source, dir, spec, issues) : [];
  if (spec && context.providedTools) checkProvidedTools(source, spec, context.providedTools, issues);
  const outputSchema = spec?.output ? readOutputSchema(source, dir, spec.output.schema, issues) : null;
  if (spec === undefined || prompt === undefined || rules === undefined || issues.length > 0) {
    return { ok: false, issues: inReadingOrder(issues, path) };
  }
  const versionHash = computeVersionHash({
    spec: source.data,
    prompt,
    rules: rules?.data ?? null,
    policies,
    ...(typeof spec.output?.schema === "string" ? { outputSchema } : {}),
  });
  return {
    ok: true,
    agent: {
      file: path,
      dir,
      spec,
      prompt,
      rules: rules?.table ?? null,
      policies,
      outputSchema,
      versionHash,
    },
    namePosition: source.locate(["name"]),
  };
}

/** The prompt text, or undefined after recording why it is unusable (nothing is recorded for a mistyped field). */
async function readPrompt(
  source: YamlSource,
  dir: string,
  field: unknown,
  issues: SpecIssue[],
): Promise<string | undefined> {
  if (typeof field !== "string" || field === "") return undefined;
  const file = resolve(dir, field);
  const record = (message: string) =>
    issues.push({ file: source.file, ...source.locate(["prompt"]), path: "prompt", message });
  const read = await readTextFile(file);
  if ("problem" in read) {
    record(`prompt ${read.problem}`);
    return undefined;
  }
  if (read.text.trim() === "") {
    record(`prompt file is empty: ${file}`);
    return undefined;
  }
  // Normalised so a checkout with CRLF line endings yields the same version hash.
  return read.text.replaceAll("\r\n", "\n");
}

/** The Cedar files `governance.policies` names (paths or globs), each once; a pattern matching nothing is an issue. */
async function readPolicies(
  source: YamlSource,
  dir: string,
  spec: AgentSpec,
  issues: SpecIssue[],
): Promise<PolicyFile[]> {
  const governance = spec.governance;
  if (!governance) return [];
  const byFile = new Map<string, PolicyFile>();
  for (const [index, entry] of governance.policies.entries()) {
    const pattern = typeof entry === "string" ? entry : entry.path;
    const mode = (typeof entry === "string" ? undefined : entry.mode) ?? governance.mode;
    const fieldPath = ["governance", "policies", index];
    const record = (message: string) =>
      issues.push({ file: source.file, ...source.locate(fieldPath), path: formatPath(fieldPath), message });
    const files: string[] = [];
    for await (const match of glob(pattern, { cwd: dir })) files.push(resolve(dir, match));
    if (files.length === 0) {
      record(`no Cedar policy file matches ${pattern}`);
      continue;
    }
    for (const file of files.sort()) {
      if (byFile.has(file)) continue;
      const read = await readTextFile(file);
      if ("problem" in read) {
        record(`policy ${read.problem}`);
        continue;
      }
      byFile.set(file, { file, path: relative(dir, file), text: read.text.replaceAll("\r\n", "\n"), mode });
    }
  }
  return [...byFile.values()].sort((a, b) => a.path.localeCompare(b.path));
}

/** Each name in `tools:` that the package does not provide is an issue at that entry. */
function checkProvidedTools(
  source: YamlSource,
  spec: AgentSpec,
  provided: readonly string[],
  issues: SpecIssue[],
): void {
  const mcpTools = (spec.mcp?.servers ?? []).flatMap((server) =>
    server.tools.map((tool) => mcpToolName(server, tool)),
  );
  if (spec.http) mcpTools.push(...httpToolNames(spec.http).map((tool) => tool.name));
  mcpTools.push(...(spec.a2a?.agents ?? []).map(a2aToolName));
  if (spec.code) mcpTools.push(...codeToolNames(spec.code).map((tool) => tool.name));
  const available = new Set([...provided, ...providedMemoryTools(spec.memory), ...mcpTools]);
  for (const [index, name] of spec.tools.entries()) {
    if (available.has(name)) continue;
    const fieldPath = ["tools", index];
    issues.push({
      file: source.file,
      ...source.locate(fieldPath),
      path: formatPath(fieldPath),
      message: `the agent's package provides no tool "${name}" (it provides: ${[...provided, ...mcpTools].join(", ") || "none"})`,
    });
  }
}

/**
 * The output schema, inline or read from its file, checked to compile (the validator Keel uses for workflow
 * schemas); null after recording, at `output.schema`, why it is unusable.
 */
function readOutputSchema(
  source: YamlSource,
  dir: string,
  field: string | Record<string, unknown>,
  issues: SpecIssue[],
): Record<string, unknown> | null {
  const context: BuildContext = { dir, state: {}, input: undefined, issues: [], fileIssues: [] };
  const schema = readJsonSchema(context, field, ["output", "schema"]);
  for (const issue of context.issues) {
    issues.push({
      file: source.file,
      ...source.locate(issue.path),
      path: formatPath(issue.path),
      message: issue.message,
    });
  }
  return schema ?? null;
}

/** The rules table (null when the spec names none), or undefined after recording its issues. */
async function readRules(
  source: YamlSource,
  dir: string,
  field: unknown,
  tools: readonly string[] | null,
  issues: SpecIssue[],
): Promise<{ table: RulesTable; data: unknown } | null | undefined> {
  if (field === undefined) return null;
  if (typeof field !== "string" || field === "") return undefined;
  const file = resolve(dir, field);
  const read = await readTextFile(file);
  if ("problem" in read) {
    const message = `rules table ${read.problem}`;
    issues.push({
      file: source.file,
      ...source.locate(["model", "offline"]),
      path: "model.offline",
      message,
    });
    return undefined;
  }
  const parsed = parseRulesTable(file, read.text, tools);
  issues.push(...parsed.issues);
  return parsed.table === null ? undefined : { table: parsed.table, data: parsed.data };
}

/** The agent's tool names: from the validated spec, or the strings in a spec that failed elsewhere. */
function toolNames(
  spec: AgentSpec | undefined,
  raw: Record<string, unknown> | undefined,
): readonly string[] | null {
  if (spec !== undefined) return spec.tools;
  const tools = raw?.tools;
  if (tools === undefined) return [];
  return Array.isArray(tools) && tools.every((tool) => typeof tool === "string") ? tools : null;
}

/** The spec's own issues first, then each other file's, each file's from top to bottom. */
function inReadingOrder(issues: SpecIssue[], specFile: string): SpecIssue[] {
  const rank = (issue: SpecIssue) => (issue.file === specFile ? "" : issue.file);
  return issues.toSorted((a, b) => rank(a).localeCompare(rank(b)) || a.line - b.line || a.column - b.column);
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
