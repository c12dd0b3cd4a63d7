import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import { checkRemoteAgentHosts } from "./a2a-section.ts";
import { buildWorkflowNode } from "./build-workflow-node.ts";
import { checkWorkflowGraph, type WorkflowIssue } from "./check-workflow-graph.ts";
import { checkGovernanceTools } from "./governance-section.ts";
import type { SpecIssue } from "./spec-error.ts";
import {
  type BuildContext,
  isJsonValue,
  readJsonSchema,
  report,
  valueProblem,
} from "./workflow-build-context.ts";
import type { StateFieldDefinition, WorkflowDefinition, WorkflowNode } from "./workflow-definition.ts";
import { DEFAULT_WORKFLOW_MAX_STEPS, type WorkflowSpec } from "./workflow-spec.ts";
import { article, REDUCER_FIELD_TYPES, schemaType, typeFits, valueType } from "./workflow-state-types.ts";

/** The definition when every check passed; the issues (by field path, and already placed in other files) otherwise. */
export type WorkflowBuild =
  | { ok: true; definition: WorkflowDefinition }
  | { ok: false; issues: WorkflowIssue[]; fileIssues: SpecIssue[] };

/**
 * Turns a spec that passed the WorkflowSpec schema into a WorkflowDefinition: reads the files it names (JSON
 * Schemas, prompts, rules tables) relative to `dir`, parses templates and conditions, and checks the state (reads
 * and writes of declared fields only, types that fit, reducers for parallel writes) and the graph (edges, reachability,
 * bounded cycles). Synchronous, so `defineWorkflow` can run it where a config module is imported.
 */
export function buildWorkflowDefinition(spec: WorkflowSpec, dir: string): WorkflowBuild {
  const context: BuildContext = { dir, state: {}, input: undefined, issues: [], fileIssues: [] };
  if (spec.input !== undefined) context.input = readJsonSchema(context, spec.input, ["input"]);
  context.state = buildState(context, spec.state);

  const nodes: Record<string, WorkflowNode> = {};
  for (const [name, nodeSpec] of Object.entries(spec.nodes)) {
    const node = buildWorkflowNode(context, name, nodeSpec);
    if (node) nodes[name] = node;
  }
  if (Object.keys(nodes).length === Object.keys(spec.nodes).length) {
    const maxStepsDeclared = spec.limits.maxSteps !== undefined;
    context.issues.push(...checkWorkflowGraph({ nodes, start: spec.start, maxStepsDeclared }));
  }
  checkModel(context, spec);
  checkGovernance(context, spec);
  for (const issue of checkRemoteAgentHosts(spec.a2a, spec.http)) report(context, issue.path, issue.message);
  if (context.issues.length > 0 || context.fileIssues.length > 0) {
    return { ok: false, issues: context.issues, fileIssues: context.fileIssues };
  }

  const { model, budgets, governance, evals, http, a2a } = spec;
  const content: Omit<WorkflowDefinition, "versionHash"> = {
    name: spec.name,
    version: spec.version,
    description: spec.description,
    owner:
      spec.owner.person === undefined
        ? { team: spec.owner.team }
        : { ...spec.owner, person: spec.owner.person },
    riskTier: spec.riskTier,
    ...(context.input === undefined ? {} : { input: context.input }),
    state: context.state,
    start: spec.start,
    nodes,
    limits: {
      maxSteps: spec.limits.maxSteps ?? DEFAULT_WORKFLOW_MAX_STEPS,
      ...(spec.limits.runTimeout === undefined ? {} : { runTimeoutMs: spec.limits.runTimeout }),
    },
    ...(model === undefined ? {} : { model }),
    ...(budgets === undefined ? {} : { budgets }),
    ...(governance === undefined ? {} : { governance }),
    ...(evals === undefined ? {} : { evals }),
    ...(http === undefined ? {} : { http }),
    ...(a2a === undefined ? {} : { a2a }),
  };
  return { ok: true, definition: { ...content, versionHash: hashDefinition(content) } };
}

/** `sha256:` over the RFC 8785 canonical JSON of the definition: files read in, so a prompt edit is a new version. */
function hashDefinition(content: Omit<WorkflowDefinition, "versionHash">): string {
  return `sha256:${createHash("sha256")
    .update(canonicalize(content) ?? "null")
    .digest("hex")}`;
}

function buildState(
  context: BuildContext,
  fields: WorkflowSpec["state"],
): Record<string, StateFieldDefinition> {
  const state: Record<string, StateFieldDefinition> = {};
  for (const [name, field] of Object.entries(fields)) {
    const at = ["state", name];
    const schema =
      field.schema === undefined ? undefined : readJsonSchema(context, field.schema, [...at, "schema"]);
    const declared = schemaType(schema);
    if (declared !== undefined && !typeFits(declared, field.type)) {
      report(
        context,
        [...at, "schema"],
        `the schema describes ${article(declared)}, but the field's type is ${field.type}`,
      );
    }
    const combines = REDUCER_FIELD_TYPES[field.reducer];
    if (combines !== null && !combines.includes(field.type)) {
      report(
        context,
        [...at, "reducer"],
        `reducer ${field.reducer} combines ${combines.includes("array") ? "arrays" : combines.includes("object") ? "objects" : "numbers"}, but state.${name} is ${article(field.type)}`,
      );
    }
    const definition: StateFieldDefinition = { type: field.type, reducer: field.reducer };
    if (schema !== undefined) definition.schema = schema;
    if (field.description !== undefined) definition.description = field.description;
    if (field.default !== undefined) {
      if (!isJsonValue(field.default)) report(context, [...at, "default"], "expected a JSON value");
      else if (!typeFits(valueType(field.default), field.type)) {
        report(
          context,
          [...at, "default"],
          `the default is ${article(valueType(field.default))}, but the field's type is ${field.type}`,
        );
      } else {
        const problem = schema === undefined ? null : valueProblem(schema, field.default);
        if (problem !== null)
          report(context, [...at, "default"], `the default does not match the schema: ${problem}`);
        definition.default = field.default;
      }
    }
    state[name] = definition;
  }
  return state;
}

/** A decide node asks a model, so the workflow names one. */
function checkModel(context: BuildContext, spec: WorkflowSpec): void {
  if (spec.model !== undefined) return;
  for (const [name, node] of Object.entries(spec.nodes)) {
    if (node.decide !== undefined) {
      report(
        context,
        ["nodes", name, "decide"],
        "a decide node asks a model: declare the workflow's model (provider, id)",
      );
    }
  }
}

/** Governance names only tools the nodes call, and every tool a node calls is allowed (absent: none is). */
function checkGovernance(context: BuildContext, spec: WorkflowSpec): void {
  const governance = spec.governance;
  if (governance === undefined) return;
  const called = new Map<string, (string | number)[]>();
  for (const [name, node] of Object.entries(spec.nodes)) {
    if (node.tool) called.set(node.tool.name, ["nodes", name, "tool", "name"]);
    for (const [branch, step] of Object.entries(node.parallel?.branches ?? {})) {
      if (step.tool)
        called.set(step.tool.name, ["nodes", name, "parallel", "branches", branch, "tool", "name"]);
    }
    if (node.map?.do.tool) called.set(node.map.do.tool.name, ["nodes", name, "map", "do", "tool", "name"]);
  }
  for (const [tool, path] of called) {
    if (!governance.allowedTools.includes(tool)) {
      report(
        context,
        path,
        `tool "${tool}" is not in governance.allowedTools, so every call to it is denied`,
      );
    }
  }
  for (const issue of checkGovernanceTools(
    governance,
    [...called.keys()],
    "the tools this workflow's nodes call",
  )) {
    report(context, ["governance", ...issue.path], issue.message);
  }
}
