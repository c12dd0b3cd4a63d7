import { readdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type LoadedAgentSpec, readAgentSpec } from "./read-agent-spec.ts";
import { SpecError, type SpecIssue } from "./spec-error.ts";

/** The file name an agent spec has inside a directory tree. */
export const AGENT_SPEC_FILE_NAME = "agent.yaml";

/**
 * Finds every `agent.yaml` under the given directories (a spec file may also be named directly) and loads them
 * all, sorted by path. Throws one `SpecError` with the issues of every file, including agent names used twice.
 */
export async function loadAgentDirectories(directories: readonly string[]): Promise<LoadedAgentSpec[]> {
  const issues: SpecIssue[] = [];
  const found = await Promise.all(directories.map((directory) => findAgentSpecFiles(directory, issues)));
  const files = [...new Set(found.flat())].sort();
  const outcomes = await Promise.all(files.map((file) => readAgentSpec(file)));
  const agents: LoadedAgentSpec[] = [];
  const firstByName = new Map<string, { file: string; line: number; column: number }>();
  for (const outcome of outcomes) {
    if (!outcome.ok) {
      issues.push(...outcome.issues);
      continue;
    }
    const { agent, namePosition } = outcome;
    const first = firstByName.get(agent.spec.name);
    if (first === undefined) {
      firstByName.set(agent.spec.name, { file: agent.file, ...namePosition });
      agents.push(agent);
    } else {
      const message = `duplicate agent name "${agent.spec.name}": also used by ${first.file}:${first.line}:${first.column}`;
      issues.push({ file: agent.file, ...namePosition, path: "name", message });
    }
  }
  if (issues.length > 0) throw new SpecError(issues);
  return agents;
}

/** Absolute paths of the `agent.yaml` files under `directory`, skipping dot folders and node_modules. */
async function findAgentSpecFiles(directory: string, issues: SpecIssue[]): Promise<string[]> {
  const root = resolve(directory);
  const kind = await stat(root).then(
    (stats) => (stats.isDirectory() ? "directory" : "file"),
    () => "missing",
  );
  if (kind === "file") return [root];
  if (kind === "missing") {
    issues.push({ file: root, line: 1, column: 1, path: "", message: `directory not found: ${root}` });
    return [];
  }
  return walk(root);
}

/** A depth-first walk that does not enter dot folders or node_modules (nor follow symbolic links). */
async function walk(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const nested = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory() && !isSkippedFolder(entry.name))
      .map((entry) => walk(join(directory, entry.name))),
  );
  const here = entries
    .filter((entry) => entry.isFile() && entry.name === AGENT_SPEC_FILE_NAME)
    .map((entry) => join(directory, entry.name));
  return [...here, ...nested.flat()];
}

function isSkippedFolder(name: string): boolean {
  return name === "node_modules" || name.startsWith(".");
}
