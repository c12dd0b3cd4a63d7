import type { GovernanceSection, RateLimitKey } from "../spec/index.ts";
import {
  CALL_MODEL,
  CALL_TOOL,
  DELEGATE,
  ENTITY,
  HANDOFF,
  ref,
  SEND_MESSAGE,
  toolActionId,
} from "./cedar-names.ts";
import { type CedarType, objectType } from "./cedar-schema.ts";
import { type CompiledPolicies, compileAgentPolicies, type PolicyInfo } from "./compile-agent-policies.ts";
import type { TokenBucket } from "./governance-store.ts";
import type { GovernedAgent, GovernedTool } from "./governed-agent.ts";
import type { EntityRef, PolicyEngine, PolicyEntity } from "./policy-engine.ts";
import {
  analysePolicy,
  emptyTree,
  matchesAction,
  matchesSide,
  mergeTree,
  needsActionEntity,
  needsPrincipalEntity,
  needsResourceEntity,
  type PathTree,
  type PolicyShape,
  type Side,
} from "./policy-index.ts";

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

/**
 * How one side (agent or user) of one action is decided. Policies are indexed by the action and principal their
 * scope can match, so Cedar evaluates only those: `empty` (nothing applies: not permitted), `trivial` (only
 * unconditional permits apply: allowed without asking), or `cedar` with the pre-parsed set (and its variant
 * without `@review` forbids), the parts of the context its policies read, and which entities they need.
 */
export type SideSet =
  | { kind: "empty" }
  | { kind: "trivial"; permits: string[] }
  | {
      kind: "cedar";
      all: string;
      noReview: string;
      context: PathTree;
      principalEntity: boolean;
      resourceEntity: boolean;
      actionEntity: boolean;
    };

/** Per action id (`tool:<name>`, `call_model`, `handoff`, `send_message`), how each side is decided. */
export type PolicySets = ReadonlyMap<string, Readonly<Record<Side, SideSet>>>;

/** An agent version as the governor decides for it: pre-parsed policy sets, entities, rate limits. */
export type LoadedAgent = {
  name: string;
  version: string;
  generation: number;
  tools: ReadonlyMap<string, LoadedTool>;
  info: ReadonlyMap<string, PolicyInfo>;
  /** Enforced policies; zero means every action is denied. */
  enforcedCount: number;
  /** Total policies including shadow ones. */
  policyCount: number;
  enforce: PolicySets;
  /** Enforced plus shadow policies, when there are shadow policies. */
  shadow: PolicySets | null;
  agentRef: EntityRef;
  agentEntity: PolicyEntity;
  /** Action entities of call_model, handoff, send_message and delegate. */
  actionEntities: ReadonlyMap<string, PolicyEntity>;
  rateRules: readonly RateRule[];
  capabilityTtlMs: number;
  /** The governance section these policies were compiled from, so a proposed change is made against what is enforced. */
  governance: GovernanceSection | undefined;
};

/** Compile an agent version's policies, pre-parse them under fresh set ids, and build its entities. */
export function loadGovernedAgent(
  engine: PolicyEngine,
  agent: GovernedAgent,
  generation: number,
): LoadedAgent {
  const compiled = compileAgentPolicies(agent);
  const prefix = `${agent.name}@${agent.version}#${generation}`;
  const shapes = new Map<string, PolicyShape>(
    [...compiled.info.values()].map((info) => [
      info.id,
      analysePolicy(info.id, compiled.texts[info.id]!, info.review),
    ]),
  );
  const enforced = select(compiled, (info) => info.mode === "enforce");
  const actions = [
    ...agent.tools.map((tool) => toolActionId(tool.name)),
    CALL_MODEL,
    HANDOFF,
    SEND_MESSAGE,
    DELEGATE,
  ];
  const index = { engine, compiled, shapes, actions, agent: agent.name };
  const enforce = indexSets(index, `${prefix}:enforce`, enforced);
  const hasShadow = [...compiled.info.values()].some((info) => info.mode === "shadow");
  const shadow = hasShadow ? indexSets(index, `${prefix}:shadow`, Object.keys(compiled.texts)) : null;
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
    policyCount: compiled.info.size,
    enforce,
    shadow,
    agentRef,
    agentEntity: { uid: agentRef, attrs: { name: agent.name, version: agent.version }, parents: [] },
    actionEntities: new Map(
      [CALL_MODEL, HANDOFF, SEND_MESSAGE, DELEGATE].map((id) => [
        id,
        { uid: ref(ENTITY.action, id), attrs: {}, parents: [] },
      ]),
    ),
    rateRules,
    capabilityTtlMs: agent.governance?.capabilityTtl ?? 300_000,
    governance: agent.governance,
  };
}

function select(compiled: CompiledPolicies, keep: (info: PolicyInfo) => boolean): string[] {
  return [...compiled.info.values()].filter(keep).map((info) => info.id);
}

type Index = {
  engine: PolicyEngine;
  compiled: CompiledPolicies;
  shapes: ReadonlyMap<string, PolicyShape>;
  actions: readonly string[];
  agent: string;
};

/** Index policies by action and side, and pre-parse one small Cedar set per (action, side) that needs Cedar. */
function indexSets(index: Index, prefix: string, ids: readonly string[]): PolicySets {
  const sets = new Map<string, Record<Side, SideSet>>();
  for (const action of index.actions) {
    const sides = {} as Record<Side, SideSet>;
    for (const side of ["agent", "user"] as const) {
      const relevant = ids
        .map((id) => index.shapes.get(id)!)
        .filter(
          (shape) => matchesAction(shape.action, action) && matchesSide(shape.principal, side, index.agent),
        )
        // A forbid that cannot tell the agent from the user decides the same on both sides: asked once, for the agent.
        .filter((shape) => side === "agent" || !principalAgnosticForbid(shape));
      sides[side] = sideSet(index, `${prefix}:${action}:${side}`, action, relevant);
    }
    sets.set(action, sides);
  }
  return sets;
}

function principalAgnosticForbid(shape: PolicyShape): boolean {
  return shape.effect === "forbid" && shape.principal.op === "All" && !shape.reads.has("principal");
}

function sideSet(index: Index, setId: string, action: string, relevant: readonly PolicyShape[]): SideSet {
  if (relevant.length === 0) return { kind: "empty" };
  const certain = (shape: PolicyShape) =>
    shape.principal.op === "All" ||
    shape.principal.op === "==" ||
    (shape.principal.op === "is" && !("in" in shape.principal));
  if (
    relevant.every(
      (shape) =>
        shape.effect === "permit" && shape.unconditional && shape.resource.op === "All" && certain(shape),
    )
  ) {
    return { kind: "trivial", permits: relevant.map((shape) => shape.id) };
  }
  const texts = (keep: (shape: PolicyShape) => boolean) =>
    Object.fromEntries(relevant.filter(keep).map((shape) => [shape.id, index.compiled.texts[shape.id]!]));
  index.engine.load(
    setId,
    texts(() => true),
  );
  const hasReview = relevant.some((shape) => shape.review);
  if (hasReview)
    index.engine.load(
      `${setId}:no-review`,
      texts((shape) => !shape.review),
    );
  const context = emptyTree();
  for (const shape of relevant) mergeTree(context, shape.context);
  return {
    kind: "cedar",
    all: setId,
    noReview: hasReview ? `${setId}:no-review` : setId,
    context,
    principalEntity: relevant.some(needsPrincipalEntity),
    resourceEntity: relevant.some(needsResourceEntity),
    actionEntity: relevant.some((shape) => needsActionEntity(shape, action)),
  };
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
