import type { BudgetLedger, BudgetLimits } from "../governance/index.ts";
import type { ModelParams, ModelProvider } from "../models/index.ts";
import type { ApprovalsSection, GuardsSection, RolloutSection, WorkflowDefinition } from "../spec/index.ts";
import type { Tool } from "../tools/index.ts";
import type { InjectionDetector } from "./injection-detectors.ts";

/** A loaded agent version bound to its model and tools: what the interpreter runs. */
export type AgentDefinition = {
  name: string;
  version: string;
  versionHash: string;
  description: string;
  owner: { team: string; person?: string };
  /** The tenant the agent belongs to (the spec's `tenant`); absent means `default`. */
  tenant?: string;
  riskTier: 1 | 2 | 3;
  /** The system prompt (the spec's prompt file). */
  system: string;
  provider: ModelProvider;
  tools: ReadonlyMap<string, Tool>;
  params: ModelParams;
  limits: { maxSteps: number; runTimeout: number; toolTimeout: number };
  /** How a session's earlier turns are fitted into the model's window; absent: drop-oldest, the model's window. */
  context?: ContextPolicy;
  /** The JSON Schema of a session's working memory, when the agent keeps one (docs/sessions-and-memory.md). */
  workingMemory?: { schema: Record<string, unknown> };
  /** The spec's budgets and the ledger that enforces them; absent when the agent has no caps. */
  /**
   * The spec's budgets and the ledger that enforces them; the ledger also enforces the caps a child run inherits
   * from the runs above it (`parentBudgets` on its run-start). Absent: nothing is reserved or recorded.
   */
  budgets?: { ledger: BudgetLedger; limits: BudgetLimits };
  /** Where held actions and handoffs go, who decides them and how long they wait; absent: the owning team, 4 h. */
  approvals?: ApprovalsSection;
  /** The spec's injection and redaction guards; absent: the spec's defaults (docs/security.md). */
  guards?: GuardsSection;
  /** Model-based injection detectors asked beside the built-in rules (`guards.injection.detectors`), bound. */
  injectionDetectors?: readonly InjectionDetector[];
  /** How a new version of the agent reaches traffic (the spec's `rollout` section; docs/rollout.md). */
  rollout?: RolloutSection;
  /**
   * The spec's structured answer: the final answer must be JSON matching `schema`; one that does not is sent back
   * to the model, saying why, up to `maxRetries` times, then the run fails with `output_schema_mismatch`.
   */
  output?: { schema: Record<string, unknown>; maxRetries: number };
  /**
   * Set when this is a workflow (`kind: Workflow`): its runs walk the workflow's nodes instead of the agent loop,
   * with `tools`, `provider` and the governor's policies applying to its nodes as they would to an agent's turns.
   */
  workflow?: WorkflowDefinition;
};

/** The spec's `context` section as the runtime reads it. */
export type ContextPolicy = {
  maxTokens?: number | undefined;
  strategy: "drop-oldest" | "summarize";
  keepLastTurns: number;
};

/** Finds the definition of an agent version; undefined when this process does not serve it. */
export type AgentLookup = (name: string, version: string) => AgentDefinition | undefined;
