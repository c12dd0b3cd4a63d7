import type { RateLimitKey } from "../spec/governance-section.ts";
import { CALL_MODEL, CALL_TOOL, ENTITY, HANDOFF, ref, SEND_MESSAGE, toolActionId } from "./cedar-names.ts";
import { type CedarType, objectType } from "./cedar-schema.ts";
import { type CompiledPolicies, compileAgentPolicies, type PolicyInfo } from "./compile-agent-policies.ts";
import type { TokenBucket } from "./governance-store.ts";
import type { GovernedAgent, GovernedTool } from "./governed-agent.ts";
import type { EntityRef, PolicyEngine, PolicyEntity } from "./policy-engine.ts";

/** A tool with its Cedar entity, action and argument type, built once at load. */
export type LoadedTool = GovernedTool & {
  resource: EntityRef;
  entity: PolicyEntity;
  action: EntityRef;
  actionEntity: PolicyEntity;
  inputType: CedarType | null;
};

/** A rate limit of one agent, ready to key buckets. */
export type RateRule = { id: string; tool: string; bucket: TokenBucket; per: readonly RateLimitKey[] };

/** The ids of an agent version's pre-parsed policy sets (the `noReview` sets leave out `@review` forbids). */
export type PolicySets = { all: string; noReview: string };

/** An agent version as the governor decides for it: pre-parsed policy sets, entities, rate limits. */
export type LoadedAgent = {
  name: string;
  version: string;
  generation: number;
  tools: ReadonlyMap<string, LoadedTool>;
  info: ReadonlyMap<string, PolicyInfo>;
  /** Enforced policies; zero means every action is denied. */
  enforcedCount: number;
  enforce: PolicySets;
  /** Enforced plus shadow policies, when there are shadow policies. */
  shadow: PolicySets | null;
  agentRef: EntityRef;
  agentEntity: PolicyEntity;
  /** Action entities of call_model, handoff and send_message. */
  actionEntities: ReadonlyMap<string, PolicyEntity>;
  rateRules: readonly RateRule[];
  capabilityTtlMs: number;
};

/** Compile an agent version's policies, pre-parse them under fresh set ids, and build its entities. */
export function loadGovernedAgent(
  engine: PolicyEngine,
  agent: GovernedAgent,
  generation: number,
): LoadedAgent {
  const compiled = compileAgentPolicies(agent);
  const prefix = `${agent.name}@${agent.version}#${generation}`;
  const enforced = select(compiled, (info) => info.mode === "enforce");
  const enforce = preparse(engine, `${prefix}:enforce`, compiled, enforced);
  const hasShadow = [...compiled.info.values()].some((info) => info.mode === "shadow");
  const shadow = hasShadow
    ? preparse(engine, `${prefix}:shadow`, compiled, Object.keys(compiled.texts))
    : null;
  const tools = new Map<string, LoadedTool>();
  for (const tool of agent.tools) tools.set(tool.name, loadTool(tool));
  const rateRules = Object.entries(agent.governance?.rateLimits ?? {}).map(([tool, limit]) => ({
    id: `governance.rateLimits.${tool}`,
    tool,
    bucket: { capacity: limit.burst, refillPerMs: limit.limit / limit.intervalMs },
    per: limit.per,
  }));
  const agentRef = ref(ENTITY.agent, agent.name);
  return {
    name: agent.name,
    version: agent.version,
    generation,
    tools,
    info: compiled.info,
    enforcedCount: enforced.length,
    enforce,
    shadow,
    agentRef,
    agentEntity: { uid: agentRef, attrs: { name: agent.name, version: agent.version }, parents: [] },
    actionEntities: new Map(
      [CALL_MODEL, HANDOFF, SEND_MESSAGE].map((id) => [
        id,
        { uid: ref(ENTITY.action, id), attrs: {}, parents: [] },
      ]),
    ),
    rateRules,
    capabilityTtlMs: agent.governance?.capabilityTtl ?? 300_000,
  };
}

function select(compiled: CompiledPolicies, keep: (info: PolicyInfo) => boolean): string[] {
  return [...compiled.info.values()].filter(keep).map((info) => info.id);
}

function preparse(
  engine: PolicyEngine,
  setId: string,
  compiled: CompiledPolicies,
  ids: readonly string[],
): PolicySets {
  const pick = (filter: (id: string) => boolean) =>
    Object.fromEntries(ids.filter(filter).map((id) => [id, compiled.texts[id]!]));
  engine.load(
    setId,
    pick(() => true),
  );
  engine.load(
    `${setId}:no-review`,
    pick((id) => !compiled.info.get(id)?.review),
  );
  return { all: setId, noReview: `${setId}:no-review` };
}

function loadTool(tool: GovernedTool): LoadedTool {
  const resource = ref(ENTITY.tool, tool.name);
  const action = ref(ENTITY.action, toolActionId(tool.name));
  return {
    ...tool,
    resource,
    entity: {
      uid: resource,
      attrs: {
        name: tool.name,
        dataClasses: [...(tool.dataClasses.length > 0 ? tool.dataClasses : ["internal"])],
        sendsDataOutside: tool.sendsDataOutside,
        sideEffect: tool.sideEffect,
      },
      parents: [],
    },
    action,
    actionEntity: { uid: action, attrs: {}, parents: [ref(ENTITY.action, CALL_TOOL)] },
    inputType: objectType(tool.inputSchema),
  };
}
