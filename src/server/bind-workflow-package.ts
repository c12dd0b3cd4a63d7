import { KeelError } from "../errors/index.ts";
import type { GovernedAgent } from "../governance/index.ts";
import { createSqlBudgetLedger } from "../governance/index.ts";
import type { ModelProvider } from "../models/index.ts";
import type { AgentDefinition, AgentPackage } from "../runtime/index.ts";
import { governedTools } from "../runtime/index.ts";
import { checkWorkflowToolOutputs, type LoadedWorkflowSpec, type WorkflowDefinition } from "../spec/index.ts";
import type { SqlClient } from "../store/index.ts";
import type { Tool } from "../tools/index.ts";

/** A workflow run's wall-clock limit when its spec sets none. */
const DEFAULT_WORKFLOW_RUN_TIMEOUT_MS = 10 * 60_000;
/** A tool node's call limit (workflow specs have no per-tool setting; a tool's own `timeoutMs` overrides it). */
const DEFAULT_TOOL_TIMEOUT_MS = 15_000;

/** Every tool a workflow's nodes call, by name. */
function calledTools(definition: WorkflowDefinition): Set<string> {
  const names = new Set<string>();
  for (const node of Object.values(definition.nodes)) {
    if (node.kind === "tool") names.add(node.call.tool);
    if (node.kind === "parallel") {
      for (const branch of node.branches) if (branch.call.kind === "tool") names.add(branch.call.tool);
    }
    if (node.kind === "map" && node.body.call.kind === "tool") names.add(node.body.call.tool);
  }
  return names;
}

/**
 * Bind a loaded workflow to its package's tools and its model (chooseWorkflowModel): the definition the runtime
 * interprets (its runs walk the workflow's nodes) and what the governor loads for it (the workflow's `governance`,
 * like an agent's). The tools every node calls must be provided and write state fields their output fits, or the
 * start stops naming the node.
 */
export function bindWorkflowPackage(options: {
  agentPackage: AgentPackage;
  loaded: LoadedWorkflowSpec;
  sql: SqlClient;
  provider: ModelProvider;
  /** Tools from the workflow's own sections (HTTP tools, remote A2A agents), bound by the caller. */
  connectorTools?: readonly Tool[];
}): { definition: AgentDefinition; governed: GovernedAgent } {
  const { loaded, agentPackage } = options;
  const workflow = loaded.definition;
  const available = new Map<string, Tool>(
    [...agentPackage.createTools({ sql: options.sql }), ...(options.connectorTools ?? [])].map((tool) => [
      tool.name,
      tool,
    ]),
  );
  const called = calledTools(workflow);
  const issues = checkWorkflowToolOutputs(
    workflow,
    Object.fromEntries([...available].map(([name, tool]) => [name, tool.output])),
  );
  if (issues.length > 0) {
    throw new KeelError(
      "invalid_spec",
      `${loaded.file}: workflow ${workflow.name} does not fit its package's tools:\n${issues
        .map((issue) => `  ${issue.path}: ${issue.message}`)
        .join("\n")}`,
      { issues: issues.map((issue) => ({ path: issue.path, message: issue.message })) },
    );
  }
  const tools = new Map([...called].map((name) => [name, available.get(name)!]));
  const definition: AgentDefinition = {
    name: workflow.name,
    version: workflow.version,
    versionHash: workflow.versionHash,
    description: workflow.description,
    owner: workflow.owner,
    riskTier: workflow.riskTier,
    system: "",
    provider: options.provider,
    tools,
    params: {},
    limits: {
      maxSteps: workflow.limits.maxSteps,
      runTimeout: workflow.limits.runTimeoutMs ?? DEFAULT_WORKFLOW_RUN_TIMEOUT_MS,
      toolTimeout: DEFAULT_TOOL_TIMEOUT_MS,
    },
    ...(workflow.budgets
      ? { budgets: { ledger: createSqlBudgetLedger(options.sql), limits: workflow.budgets } }
      : {}),
    workflow,
  };
  return { definition, governed: governedWorkflow(workflow, tools) };
}

/** What the governor loads for a workflow: its `governance` section over the tools its nodes call. */
export function governedWorkflow(
  workflow: WorkflowDefinition,
  tools: ReadonlyMap<string, Tool>,
): GovernedAgent {
  return {
    name: workflow.name,
    version: workflow.version,
    governance: workflow.governance,
    tools: governedTools([...calledTools(workflow)].flatMap((name) => tools.get(name) ?? [])),
    policyFiles: [],
  };
}
