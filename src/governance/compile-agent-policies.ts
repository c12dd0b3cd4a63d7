import type { GovernanceSection, PolicyMode, ToolRule } from "../spec/index.ts";
import { MEMORY_TOOLS, parseToolCondition, type ToolCondition } from "../spec/index.ts";
import {
  actionText,
  CALL_MODEL,
  CALL_TOOL,
  cedarString,
  DELEGATE,
  ENTITY,
  entityText,
  toolActionId,
} from "./cedar-names.ts";
import { compileCondition } from "./compile-condition.ts";
import type { GovernedAgent } from "./governed-agent.ts";
import { parseTeamPolicies } from "./parse-team-policies.ts";

/** What the governor knows of each policy: where it came from, whether it only asks for review, and why. */
export type PolicyInfo = {
  id: string;
  effect: "permit" | "forbid";
  review: boolean;
  reason: string;
  mode: PolicyMode;
  /** `governance.decisionAuthority.forbidden[0]`, `policies/refunds.cedar`, … */
  source: string;
};

/** An agent version's policies, as Cedar text by id, with what each means. */
export type CompiledPolicies = {
  texts: Record<string, string>;
  info: Map<string, PolicyInfo>;
};

/** Classes of data that make a later send outside the organisation need review. */
export const EGRESS_SENSITIVE_CLASSES = ["pii", "secret"] as const;

/**
 * Compile an agent's governance section, and add its team's Cedar files, into one set of Cedar policies.
 *
 * Agent side (principal `Keel::Agent::"<name>"`): every allowed tool gets a permit; forbidden entries become
 * forbids; review entries become `@review` forbids, which hold an action for a person and can never grant one;
 * an allowed tool listed in no tier needs review. Data access adds forbids for `pii` and `financial` tools and a
 * records cap, and after the run has read `pii` any tool that sends data outside needs review.
 * User side (principal `Keel::User`): `delegation.roles`, or any user when absent — the effective permission is
 * the intersection, because the governor asks both sides. No governance section compiles to no policies.
 */
export function compileAgentPolicies(agent: GovernedAgent): CompiledPolicies {
  const compiled: CompiledPolicies = { texts: {}, info: new Map() };
  const governance = agent.governance;
  if (!governance) return compiled;
  const add = (info: Omit<PolicyInfo, "mode"> & { mode?: PolicyMode }, text: string) => {
    if (compiled.info.has(info.id)) throw new Error(`two policies have the id ${info.id}`);
    compiled.texts[info.id] = text;
    compiled.info.set(info.id, { mode: "enforce", ...info });
  };
  const agentScope = (action: string) =>
    `principal == ${entityText(ENTITY.agent, agent.name)}, action ${action}, resource`;
  const toolScope = (tool: string) => agentScope(`== ${actionText(toolActionId(tool))}`);
  const toolsScope = (tools: readonly string[]) =>
    agentScope(`in [${tools.map((tool) => actionText(toolActionId(tool))).join(", ")}]`);

  addToolTiers(governance, toolScope, add);
  addDataAccess(governance, agent.tools, toolsScope, add);
  addMemoryDataClasses(agent, toolScope, add);
  add(
    {
      id: "model-calls",
      effect: "permit",
      review: false,
      reason: "the agent may call its model",
      source: "model",
    },
    `permit(${agentScope(`== ${actionText(CALL_MODEL)}`)});`,
  );
  addAllowedAgents(governance, agentScope, add);
  addDelegation(governance, add);
  for (const file of agent.policyFiles) {
    for (const policy of parseTeamPolicies(file)) add(policy, policy.text);
  }
  return compiled;
}

type Add = (info: Omit<PolicyInfo, "mode"> & { mode?: PolicyMode }, text: string) => void;

function addToolTiers(governance: GovernanceSection, toolScope: (tool: string) => string, add: Add): void {
  const tiers = governance.decisionAuthority;
  const entries = (tier: keyof typeof tiers) =>
    tiers[tier].map((rule, index) => ({
      ...describeRule(rule),
      source: `governance.decisionAuthority.${tier}[${index}]`,
    }));
  const autonomous = entries("autonomous");
  const review = entries("requiresHumanReview");
  const forbidden = entries("forbidden");

  for (const [index, tool] of governance.allowedTools.entries()) {
    const source = `governance.allowedTools[${index}]`;
    add(
      { id: source, effect: "permit", review: false, reason: `${tool} is an allowed tool`, source },
      `permit(${toolScope(tool)});`,
    );
    const ownAutonomous = autonomous.filter((entry) => entry.tool === tool);
    const ownReview = review.filter((entry) => entry.tool === tool);
    if (ownAutonomous.length === 0 && ownReview.length === 0) {
      const id = `decision-authority:unlisted:${tool}`;
      add(
        {
          id,
          effect: "forbid",
          review: true,
          reason: `${tool} is not listed as autonomous, so a person reviews it`,
          source,
        },
        `forbid(${toolScope(tool)});`,
      );
    } else if (ownAutonomous.length > 0 && ownAutonomous.every((entry) => entry.condition)) {
      const holds = ownAutonomous
        .map((entry) => compileCondition(entry.condition!, "permissive"))
        .join(" || ");
      const id = `decision-authority:outside-autonomous:${tool}`;
      add(
        {
          id,
          effect: "forbid",
          review: true,
          reason: `${tool} is autonomous only when ${ownAutonomous.map((entry) => entry.when).join(" or ")}`,
          source: ownAutonomous[0]!.source,
        },
        `forbid(${toolScope(tool)}) when { !(${holds}) };`,
      );
    }
  }
  for (const entry of review) {
    add(
      {
        id: entry.source,
        effect: "forbid",
        review: true,
        reason:
          entry.reason ?? `${entry.tool}${entry.when ? ` when ${entry.when}` : ""} requires human review`,
        source: entry.source,
      },
      `forbid(${toolScope(entry.tool)})${whenClause(entry.condition)};`,
    );
  }
  for (const entry of forbidden) {
    add(
      {
        id: entry.source,
        effect: "forbid",
        review: false,
        reason: entry.reason ?? `${entry.tool}${entry.when ? ` when ${entry.when}` : ""} is forbidden`,
        source: entry.source,
      },
      `forbid(${toolScope(entry.tool)})${whenClause(entry.condition)};`,
    );
  }
}

/**
 * Data access, compiled against the tools' declarations: each rule names the tools it covers, so deciding needs
 * no tool attributes at run time (and a tool that declares no such data is simply not listed).
 */
function addDataAccess(
  governance: GovernanceSection,
  tools: GovernedAgent["tools"],
  toolsScope: (tools: readonly string[]) => string,
  add: Add,
): void {
  const { dataAccess } = governance;
  const holding = (dataClass: string) =>
    tools.filter((tool) => tool.dataClasses.includes(dataClass)).map((tool) => tool.name);
  const pii = holding("pii");
  if (!dataAccess.allowPii && pii.length > 0) {
    add(
      {
        id: "governance.dataAccess.allowPii",
        effect: "forbid",
        review: false,
        reason: "the agent is not granted personal data (pii), and this tool returns it",
        source: "governance.dataAccess.allowPii",
      },
      `forbid(${toolsScope(pii)});`,
    );
  }
  const financial = holding("financial");
  if (!dataAccess.allowFinancial && financial.length > 0) {
    add(
      {
        id: "governance.dataAccess.allowFinancial",
        effect: "forbid",
        review: false,
        reason: "the agent is not granted financial data, and this tool touches it",
        source: "governance.dataAccess.allowFinancial",
      },
      `forbid(${toolsScope(financial)});`,
    );
  }
  const counting = tools.filter((tool) => tool.recordLimitArgument !== undefined).map((tool) => tool.name);
  if (dataAccess.maxRecordsPerQuery !== undefined && counting.length > 0) {
    add(
      {
        id: "governance.dataAccess.maxRecordsPerQuery",
        effect: "forbid",
        review: false,
        reason: `one call may ask for at most ${dataAccess.maxRecordsPerQuery} records`,
        source: "governance.dataAccess.maxRecordsPerQuery",
      },
      `forbid(${toolsScope(counting)}) when { context has records && context.records > ${dataAccess.maxRecordsPerQuery} };`,
    );
  }
  const sending = tools.filter((tool) => tool.sendsDataOutside).map((tool) => tool.name);
  if (sending.length > 0) {
    const sensitive = EGRESS_SENSITIVE_CLASSES.map((name) => cedarString(name)).join(", ");
    add(
      {
        id: "data-egress:after-sensitive-data",
        effect: "forbid",
        review: true,
        reason: "the run has read personal or secret data, so sending data outside needs review",
        source: "governance.dataAccess",
      },
      `forbid(${toolsScope(sending)}) when { context.session.dataClasses.containsAny([${sensitive}]) };`,
    );
  }
}

/**
 * A `remember` may store only the data classes `memory.longTerm.dataClasses` lists: any other class (or none) is
 * forbidden, whatever the tool tiers say. Team policies may narrow it further on `context.input.dataClass`.
 */
function addMemoryDataClasses(agent: GovernedAgent, toolScope: (tool: string) => string, add: Add): void {
  const allowed = agent.memoryDataClasses;
  if (!allowed || !agent.tools.some((tool) => tool.name === MEMORY_TOOLS.remember)) return;
  const classes = allowed.map((name) => cedarString(name)).join(", ");
  const field = cedarString("dataClass");
  add(
    {
      id: "memory.longTerm.dataClasses",
      effect: "forbid",
      review: false,
      reason: `the agent may remember only data of the classes ${allowed.join(", ")}`,
      source: "memory.longTerm.dataClasses",
    },
    `forbid(${toolScope(MEMORY_TOOLS.remember)}) when { if context.input has ${field} then !([${classes}].contains(context.input[${field}])) else true };`,
  );
}

/** Each agent the agent (or workflow) may hand work to gets a permit for `delegate` on it; any other is denied. */
function addAllowedAgents(
  governance: GovernanceSection,
  agentScope: (action: string) => string,
  add: Add,
): void {
  for (const [index, target] of (governance.allowedAgents ?? []).entries()) {
    const source = `governance.allowedAgents[${index}]`;
    add(
      {
        id: source,
        effect: "permit",
        review: false,
        reason: `${target} is an allowed agent to delegate to`,
        source,
      },
      `permit(${agentScope(`== ${actionText(DELEGATE)}`)} == ${entityText(ENTITY.agent, target)});`,
    );
  }
}

function addDelegation(governance: GovernanceSection, add: Add): void {
  const roles = governance.delegation?.roles;
  if (!roles) {
    add(
      {
        id: "delegation:any-user",
        effect: "permit",
        review: false,
        reason: "any user may have the agent act for them",
        source: "governance.delegation",
      },
      `permit(principal is ${ENTITY.user}, action, resource);`,
    );
    return;
  }
  add(
    {
      id: "delegation:model-calls",
      effect: "permit",
      review: false,
      reason: "any user may have the agent call its model",
      source: "governance.delegation",
    },
    `permit(principal is ${ENTITY.user}, action == ${actionText(CALL_MODEL)}, resource);`,
  );
  // Which agents work may go to is the agent's side (allowedAgents); any user may have it hand work on.
  add(
    {
      id: "delegation:delegate",
      effect: "permit",
      review: false,
      reason: "any user may have the agent hand work to the agents it is allowed",
      source: "governance.delegation",
    },
    `permit(principal is ${ENTITY.user}, action == ${actionText(DELEGATE)}, resource);`,
  );
  for (const [role, tools] of Object.entries(roles)) {
    if (tools.length === 0) continue;
    const actions = tools.includes("*")
      ? `in ${actionText(CALL_TOOL)}`
      : `in [${tools.map((tool) => actionText(toolActionId(tool))).join(", ")}]`;
    const id = `governance.delegation.roles.${role}`;
    add(
      {
        id,
        effect: "permit",
        review: false,
        reason: `users with role ${role} may delegate ${tools.join(", ")}`,
        source: id,
      },
      `permit(principal in ${entityText(ENTITY.role, role)}, action ${actions}, resource);`,
    );
  }
}

type DescribedRule = { tool: string; when?: string; reason?: string; condition?: ToolCondition };

function describeRule(rule: ToolRule): DescribedRule {
  if (typeof rule === "string") return { tool: rule };
  const described: DescribedRule = { tool: rule.tool };
  if (rule.reason !== undefined) described.reason = rule.reason;
  if (rule.when !== undefined) {
    const parsed = parseToolCondition(rule.when);
    if (!parsed.ok) throw new Error(`condition "${rule.when}" of ${rule.tool}: ${parsed.message}`);
    described.when = rule.when;
    described.condition = parsed.condition;
  }
  return described;
}

/** ` when { … }` for a restrictive rule's condition, or nothing. */
function whenClause(condition: ToolCondition | undefined): string {
  return condition ? ` when { ${compileCondition(condition, "restrictive")} }` : "";
}
