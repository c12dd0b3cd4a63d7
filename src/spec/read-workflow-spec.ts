import { buildWorkflowDefinition } from "./build-workflow-definition.ts";
import { readYamlSource } from "./parse-yaml-source.ts";
import { SpecError, type SpecIssue } from "./spec-error.ts";
import { formatPath, validateYamlSource } from "./validate-yaml-source.ts";
import type { WorkflowDefinition } from "./workflow-definition.ts";
import { WorkflowSpec } from "./workflow-spec.ts";

/** A workflow file that passed every check: where it is, and its definition. */
export type LoadedWorkflowSpec = { file: string; dir: string; definition: WorkflowDefinition };

/** The outcome of reading one workflow file: loaded, or every issue found, each at its file, line and column. */
export type WorkflowSpecOutcome =
  | { ok: true; workflow: LoadedWorkflowSpec }
  | { ok: false; issues: SpecIssue[] };

/**
 * Reads one `kind: Workflow` file: parses the YAML, checks it against the WorkflowSpec schema, then checks its
 * state and graph and reads the files it names, collecting every issue instead of throwing.
 */
export async function readWorkflowSpec(file: string): Promise<WorkflowSpecOutcome> {
  const read = await readYamlSource(file);
  if (!read.ok) return read;
  const { path, dir, source } = read;
  const { value: spec, issues } = validateYamlSource(source, WorkflowSpec);
  if (spec === undefined) return { ok: false, issues };
  const built = buildWorkflowDefinition(spec, dir);
  if (built.ok) return { ok: true, workflow: { file: path, dir, definition: built.definition } };
  const placed = built.issues.map(
    (issue): SpecIssue => ({
      file: path,
      ...source.locate(issue.path, issue.target),
      path: formatPath(issue.path),
      message: issue.message,
    }),
  );
  const rank = (issue: SpecIssue) => (issue.file === path ? "" : issue.file);
  const ordered = [...placed, ...built.fileIssues].toSorted(
    (a, b) => rank(a).localeCompare(rank(b)) || a.line - b.line || a.column - b.column,
  );
  return { ok: false, issues: ordered };
}

/** Loads one workflow file, throwing a `SpecError` listing every issue found, each with its file, line and column. */
export async function loadWorkflowSpec(file: string): Promise<LoadedWorkflowSpec> {
  const outcome = await readWorkflowSpec(file);
  if (!outcome.ok) throw new SpecError(outcome.issues);
  return outcome.workflow;
}
