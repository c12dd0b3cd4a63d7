import { resolve } from "node:path";
import { buildWorkflowDefinition } from "./build-workflow-definition.ts";
import { formatSpecIssue } from "./spec-error.ts";
import { describeIssue, explainIssues, formatPath } from "./validate-yaml-source.ts";
import type { WorkflowDefinition } from "./workflow-definition.ts";
import { WorkflowSpec, type WorkflowSpecInput } from "./workflow-spec.ts";

/** What `defineWorkflow` takes: a workflow spec as a YAML file would hold it, without apiVersion and kind. */
export type DefineWorkflowInput = Omit<WorkflowSpecInput, "apiVersion" | "kind"> & {
  /** Directory the files it names (schemas, prompts, rules) are relative to; default: the working directory. */
  dir?: string;
};

/** One problem in a `defineWorkflow` call: the field path and what is wrong. */
export type WorkflowFieldIssue = { path: string; message: string };

/** A `defineWorkflow` call that failed its checks, with every issue found, each naming its field path. */
export class WorkflowDefinitionError extends Error {
  readonly issues: readonly WorkflowFieldIssue[];

  constructor(name: string, issues: readonly WorkflowFieldIssue[]) {
    const count = issues.length === 1 ? "1 issue" : `${issues.length} issues`;
    const lines = issues.map((issue) => `  ${issue.path === "" ? "" : `${issue.path}: `}${issue.message}`);
    super(`invalid workflow ${name} (${count}):\n${lines.join("\n")}`);
    this.name = "WorkflowDefinitionError";
    this.issues = issues;
  }
}

/**
 * Define a workflow in TypeScript: the same fields, checks and resulting definition as a `kind: Workflow` YAML
 * file. Throws a `WorkflowDefinitionError` naming the field path of every issue.
 */
export function defineWorkflow(input: DefineWorkflowInput): WorkflowDefinition {
  const { dir, ...spec } = input;
  const name = typeof spec.name === "string" ? spec.name : "(unnamed)";
  const parsed = WorkflowSpec.safeParse(
    { apiVersion: "keel/v1", kind: "Workflow", ...spec },
    { error: describeIssue },
  );
  if (!parsed.success) {
    const issues = explainIssues(parsed.error.issues).map((issue) => ({
      path: formatPath(issue.path),
      message: issue.message,
    }));
    throw new WorkflowDefinitionError(name, issues);
  }
  const built = buildWorkflowDefinition(parsed.data, resolve(dir ?? "."));
  if (built.ok) return built.definition;
  throw new WorkflowDefinitionError(name, [
    ...built.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message })),
    ...built.fileIssues.map((issue) => ({ path: "", message: formatSpecIssue(issue) })),
  ]);
}
