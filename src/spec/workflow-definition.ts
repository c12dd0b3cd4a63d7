import type { z } from "zod";
import type { A2aSection } from "./a2a-section.ts";
import type { BudgetsSection, ModelSection } from "./agent-spec.ts";
import type { Condition } from "./condition.ts";
import type { EvalsSection } from "./eval-dataset.ts";
import type { GovernanceSection } from "./governance-section.ts";
import type { HttpSection } from "./http-section.ts";
import type { RulesTable } from "./rules-table.ts";
import type { Reducer, StateType } from "./workflow-spec.ts";
import type { Reference, Template } from "./workflow-template.ts";

// The validated workflow: what a YAML file or a defineWorkflow call becomes once every check has passed. An
// interpreter walks it as is: files are read in, templates and conditions parsed, durations in milliseconds,
// defaults applied, and each node a member of one discriminated union.

/** Any value JSON can hold. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON Schema, as a plain object. */
export type JsonSchema = { [key: string]: JsonValue };

/** One typed state field. */
export type StateFieldDefinition = {
  type: StateType;
  /** The JSON Schema its values match, when one is given (files are read in). */
  schema?: JsonSchema;
  /** The value before any node writes it; absent, the field is unset. */
  default?: JsonValue;
  reducer: Reducer;
  description?: string;
};

/** A tool argument: a template (strings) or a literal (any other JSON value). */
export type ArgumentValue = { kind: "template"; template: Template } | { kind: "literal"; value: JsonValue };

/** A call a node makes: a governed tool call, or a child run of an agent. */
export type NodeCall =
  | { kind: "tool"; tool: string; args: Record<string, ArgumentValue> }
  | { kind: "agent"; agent: string; input: Template };

/** One branch of a `parallel` (named) or the body of a `map`: a call and the state field it writes. */
export type BranchStepDefinition = { call: NodeCall; writes?: string };

/** How a fan-out's branches are joined. */
export type JoinPolicy =
  | { kind: "all" }
  | { kind: "any" }
  | { kind: "quorum"; count: number }
  | { kind: "best-effort" };

/** What fan-out nodes share. */
export type FanOutSettings = {
  join: JoinPolicy;
  /** Most branches running at once; absent, all. */
  concurrency?: number;
  /** Limit for each branch. */
  timeoutMs?: number;
  /** The array state field failed branches are recorded in. */
  failures?: string;
};

/** What every node has. */
export type NodeCommon = {
  /** The node's key in `nodes`. */
  name: string;
  description?: string;
  /** Most times one run may enter this node. */
  maxVisits?: number;
};

/** A child run of an agent; writes its answer text. */
export type AgentNodeDefinition = NodeCommon & {
  kind: "agent";
  call: Extract<NodeCall, { kind: "agent" }>;
  writes?: string;
  next: string;
};

/** A governed tool call. */
export type ToolNodeDefinition = NodeCommon & {
  kind: "tool";
  call: Extract<NodeCall, { kind: "tool" }>;
  writes?: string;
  next: string;
};

/** The answer a decide node asks for, and where each answer goes. */
export type DecisionDefinition =
  | { kind: "labels"; labels: string[]; next: Record<string, string> }
  | { kind: "schema"; output: JsonSchema; next: string };

/** A bounded model decision. */
export type DecideNodeDefinition = NodeCommon & {
  kind: "decide";
  /** The instructions (promptFile is read in). */
  prompt: Template;
  /** What the decision is about; offline rules match against it. */
  input?: Template;
  decision: DecisionDefinition;
  retries: number;
  fallback: string;
  /** The offline rules table answering this decision, read in. */
  rules?: RulesTable;
  writes?: string;
};

/** One case of a branch node. */
export type BranchCaseDefinition = { when: Condition; source: string; to: string };

/** Deterministic routing: the first case whose condition holds, or `else`. */
export type BranchNodeDefinition = NodeCommon & {
  kind: "branch";
  cases: BranchCaseDefinition[];
  else: string;
};

/** Fixed branches, in the order written. */
export type ParallelNodeDefinition = NodeCommon &
  FanOutSettings & {
    kind: "parallel";
    branches: ({ name: string } & BranchStepDefinition)[];
    next: string;
  };

/** One branch per item of a list. */
export type MapNodeDefinition = NodeCommon &
  FanOutSettings & {
    kind: "map";
    over: Reference;
    body: BranchStepDefinition;
    /** The array field the outputs, in item order, are written to (once, through its reducer). */
    writes?: string;
    next: string;
  };

/** A human task through the approvals queue. */
export type ApprovalNodeDefinition = NodeCommon & {
  kind: "approval";
  routeTo: string;
  /** What the person is asked, rendered from the state when the request is made. */
  summary?: Template;
  form: JsonSchema;
  slaMs: number;
  /** Receives the filled-in form. */
  writes?: string;
  next: string;
  onTimeout?: string;
  onDeny?: string;
};

/** What a wait node waits for. */
export type WaitCondition =
  | { kind: "until"; until: Template }
  | { kind: "for"; durationMs: number }
  | { kind: "signal"; signal: string; timeoutMs?: number; onTimeout?: string };

/** A durable timer or a wait for a signal. */
export type WaitNodeDefinition = NodeCommon & {
  kind: "wait";
  wait: WaitCondition;
  /** Receives the signal's payload. */
  writes?: string;
  next: string;
};

/** Hands the conversation over; the workflow ends. */
export type HandoffNodeDefinition = NodeCommon & {
  kind: "handoff";
  to: { kind: "queue" | "person" | "agent"; name: string };
  reason?: Template;
};

/** The workflow ends. */
export type EndNodeDefinition = NodeCommon & { kind: "end"; output?: Template };

/** One node of a validated workflow. */
export type WorkflowNode =
  | AgentNodeDefinition
  | ToolNodeDefinition
  | DecideNodeDefinition
  | BranchNodeDefinition
  | ParallelNodeDefinition
  | MapNodeDefinition
  | ApprovalNodeDefinition
  | WaitNodeDefinition
  | HandoffNodeDefinition
  | EndNodeDefinition;

/** A validated workflow version, ready to be interpreted. */
export type WorkflowDefinition = {
  name: string;
  version: string;
  description: string;
  owner: { team: string; person?: string };
  riskTier: 1 | 2 | 3;
  /** The JSON Schema of the run's input, when given. */
  input?: JsonSchema;
  state: Record<string, StateFieldDefinition>;
  start: string;
  nodes: Record<string, WorkflowNode>;
  limits: { maxSteps: number; runTimeoutMs?: number };
  /** The model decide nodes call (each decide names its own offline rules). */
  model?: Omit<z.output<typeof ModelSection>, "offline">;
  budgets?: z.output<typeof BudgetsSection>;
  governance?: GovernanceSection;
  evals?: EvalsSection;
  /** HTTP tools its tool nodes may call, and the egress allowlist every outbound call (remote agents' too) meets. */
  http?: HttpSection;
  /** Remote A2A agents its tool nodes may call, each a tool named after it. */
  a2a?: A2aSection;
  /** `sha256:<hex>` over the rest of the definition: the identity of this version. */
  versionHash: string;
};

/** One edge out of a node: where it is written below the node (`["next"]`, `["decide", "fallback"]`, …) and its target. */
export type WorkflowEdge = { path: (string | number)[]; to: string };

/** Every node a node can go to next, in the order written. */
export function nodeEdges(node: WorkflowNode): WorkflowEdge[] {
  switch (node.kind) {
    case "agent":
    case "tool":
    case "parallel":
    case "map":
      return [{ path: ["next"], to: node.next }];
    case "decide": {
      const edges: WorkflowEdge[] =
        node.decision.kind === "labels"
          ? Object.entries(node.decision.next).map(([label, to]) => ({ path: ["next", label], to }))
          : [{ path: ["next"], to: node.decision.next }];
      return [...edges, { path: ["decide", "fallback"], to: node.fallback }];
    }
    case "branch":
      return [
        ...node.cases.map((item, index): WorkflowEdge => ({ path: ["branch", index, "to"], to: item.to })),
        { path: ["branch", node.cases.length, "else"], to: node.else },
      ];
    case "approval":
      return [
        { path: ["next"], to: node.next },
        ...(node.onTimeout === undefined ? [] : [{ path: ["approval", "onTimeout"], to: node.onTimeout }]),
        ...(node.onDeny === undefined ? [] : [{ path: ["approval", "onDeny"], to: node.onDeny }]),
      ];
    case "wait":
      return [
        { path: ["next"], to: node.next },
        ...(node.wait.kind === "signal" && node.wait.onTimeout !== undefined
          ? [{ path: ["wait", "onTimeout"], to: node.wait.onTimeout }]
          : []),
      ];
    case "handoff":
    case "end":
      return [];
    default: {
      const unreachable: never = node;
      throw new Error(`unknown node ${JSON.stringify(unreachable)}`);
    }
  }
}
