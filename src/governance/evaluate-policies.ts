import type { Principal } from "../journal/index.ts";
import { toCedarValue } from "./cedar-input.ts";
import { CALL_MODEL, DELEGATE, ENTITY, HANDOFF, ref, SEND_MESSAGE } from "./cedar-names.ts";
import { numericView } from "./cedar-values.ts";
import type { ActionRequest } from "./governor.ts";
import type { LoadedAgent, LoadedTool, PolicySets, SideSet } from "./load-governed-agent.ts";
import type { EntityRef, PolicyAnswer, PolicyEngine, PolicyEntity } from "./policy-engine.ts";
import { type PathTree, pruneValue, type Side } from "./policy-index.ts";

/** What the policies say about one action, before rate limits and capability tokens. */
export type PolicyOutcome =
  | { decision: "allow" | "review"; policies: string[]; reasons: string[] }
  | {
      decision: "deny";
      code: "forbidden" | "not_permitted" | "policy_error";
      policies: string[];
      reasons: string[];
    };

/**
 * The Cedar question for an action, asked once for the agent and once for the user. The context is built on
 * demand with only the parts the applicable policies read, because handing values to WebAssembly is most of a
 * decision's cost.
 */
export type PolicyQuestion = {
  action: EntityRef;
  resource: EntityRef;
  entities: { agent: PolicyEntity; user: PolicyEntity; resource: PolicyEntity; action: PolicyEntity };
  context(tree: PathTree): Record<string, unknown>;
  /** Words for reasons: "call issue_refund". */
  describe: string;
};

/** Build the Cedar question for a request; `checkedArguments` are the tool's validated arguments (for records). */
export function buildPolicyQuestion(
  agent: LoadedAgent,
  request: ActionRequest,
  tool: LoadedTool | null,
  checkedArguments: unknown,
): PolicyQuestion {
  const { principal } = request;
  const parts: Record<string, () => unknown> = {
    session: () => ({ dataClasses: [...request.dataClasses] }),
    user: () => ({ subject: principal.subject, tenant: principal.tenant, roles: [...principal.roles] }),
  };
  const userEntity = buildUserEntity(principal);
  if (request.kind === "tool-call" && tool && request.tool) {
    const args = request.tool.arguments;
    parts.input = () => (tool.inputType && toCedarValue(args, tool.inputType)) ?? {};
    parts.numbers = () => numericView(args);
    const hash = request.tool.argumentsHash;
    parts.argumentsHash = () => hash;
    const records = recordsAsked(tool, checkedArguments);
    if (records !== null) parts.records = () => records;
    return {
      action: tool.action,
      resource: tool.resource,
      entities: {
        agent: agent.agentEntity,
        user: userEntity,
        resource: tool.entity,
        action: tool.actionEntity,
      },
      context: (tree) => buildContext(parts, tree),
      describe: `call ${tool.name}`,
    };
  }
  const actionId =
    request.kind === "model-call"
      ? CALL_MODEL
      : request.kind === "handoff"
        ? HANDOFF
        : request.kind === "delegation"
          ? DELEGATE
          : SEND_MESSAGE;
  const resource =
    request.kind === "model-call"
      ? ref(ENTITY.model, `${request.model?.provider ?? ""}/${request.model?.id ?? ""}`)
      : request.kind === "delegation"
        ? ref(ENTITY.agent, request.target ?? "")
        : ref(ENTITY.target, request.target ?? "");
  const resourceEntity: PolicyEntity =
    request.kind === "model-call"
      ? {
          uid: resource,
          attrs: { provider: request.model?.provider ?? "", id: request.model?.id ?? "" },
          parents: [],
        }
      : request.kind === "delegation"
        ? { uid: resource, attrs: { name: request.target ?? "" }, parents: [] }
        : { uid: resource, attrs: {}, parents: [] };
  return {
    action: ref(ENTITY.action, actionId),
    resource,
    entities: {
      agent: agent.agentEntity,
      user: userEntity,
      resource: resourceEntity,
      action: agent.actionEntities.get(actionId)!,
    },
    context: (tree) => buildContext(parts, tree),
    describe:
      request.kind === "model-call" ? `call the model ${resource.id}` : `${actionId} to ${resource.id}`,
  };
}

function buildContext(parts: Record<string, () => unknown>, tree: PathTree): Record<string, unknown> {
  const context: Record<string, unknown> = {};
  const names = tree.whole ? Object.keys(parts) : [...tree.children.keys()];
  for (const name of names) {
    const part = parts[name];
    if (!part) continue;
    context[name] = tree.whole ? part() : pruneValue(part(), tree.children.get(name)!);
  }
  return context;
}

/** The user entity: member of its roles and its tenant, so policies can say `principal in Keel::Role::"admin"`. */
export function buildUserEntity(principal: Principal): PolicyEntity {
  return {
    uid: ref(ENTITY.user, principal.subject),
    attrs: { subject: principal.subject, tenant: principal.tenant, roles: [...principal.roles] },
    parents: [ref(ENTITY.tenant, principal.tenant), ...principal.roles.map((role) => ref(ENTITY.role, role))],
  };
}

function recordsAsked(tool: LoadedTool, checkedArguments: unknown): number | null {
  if (!tool.recordLimitArgument || checkedArguments === null || typeof checkedArguments !== "object")
    return null;
  const value = (checkedArguments as Record<string, unknown>)[tool.recordLimitArgument];
  return typeof value === "number" && Number.isSafeInteger(value) ? value : null;
}

/**
 * Ask the policies about an action for both the agent and the user it acts for, and combine: any failed
 * evaluation denies; a forbid on either side denies; a `@review` forbid on either side holds the action when both
 * sides are otherwise permitted; both sides permitted allows; anything else — nothing permitted — denies.
 */
export function evaluatePolicies(
  engine: PolicyEngine,
  agent: LoadedAgent,
  sets: PolicySets,
  question: PolicyQuestion,
  principal: Principal,
): PolicyOutcome {
  const bySide = sets.get(question.action.id);
  if (!bySide) {
    return {
      decision: "deny",
      code: "not_permitted",
      policies: [],
      reasons: [`no policy applies to the action ${question.action.id}`],
    };
  }
  const userRef = ref(ENTITY.user, principal.subject);
  const ask = (set: SideSet, side: Side, withoutReview: boolean): PolicyAnswer => {
    switch (set.kind) {
      case "empty":
        return { decision: "deny", determining: [], errors: [] };
      case "trivial":
        return { decision: "allow", determining: set.permits, errors: [] };
      case "cedar": {
        const entities: PolicyEntity[] = [];
        if (set.principalEntity)
          entities.push(side === "agent" ? question.entities.agent : question.entities.user);
        if (set.resourceEntity) entities.push(question.entities.resource);
        if (set.actionEntity) entities.push(question.entities.action);
        return engine.evaluate({
          setId: withoutReview ? set.noReview : set.all,
          principal: side === "agent" ? agent.agentRef : userRef,
          action: question.action,
          resource: question.resource,
          context: question.context(set.context),
          entities,
        });
      }
      default: {
        const unreachable: never = set;
        throw new Error(`unknown policy set ${JSON.stringify(unreachable)}`);
      }
    }
  };
  const sides = (["agent", "user"] as const).map((side) => ({
    side,
    set: bySide[side],
    label: side === "agent" ? `agent ${agent.name}` : `user ${principal.subject}`,
    answer: ask(bySide[side], side, false),
  }));
  const errors = sides.flatMap((side) => side.answer.errors);
  if (errors.length > 0) {
    return {
      decision: "deny",
      code: "policy_error",
      policies: [...new Set(errors.map((error) => error.split(":")[0]!))],
      reasons: errors.map((error) => `a policy could not be evaluated, so the action is denied: ${error}`),
    };
  }
  const forbids = sides.flatMap((side) => (side.answer.decision === "deny" ? side.answer.determining : []));
  const hard = unique(forbids.filter((id) => agent.info.get(id)?.review !== true));
  if (hard.length > 0) {
    return {
      decision: "deny",
      code: "forbidden",
      policies: hard,
      reasons: hard.map((id) => reasonOf(agent, id)),
    };
  }
  if (sides.every((side) => side.answer.decision === "allow")) {
    const permits = unique(sides.flatMap((side) => side.answer.determining));
    return { decision: "allow", policies: permits, reasons: permits.map((id) => reasonOf(agent, id)) };
  }
  for (const side of sides) {
    const permitted =
      side.answer.decision === "allow" ||
      (side.answer.determining.length > 0 && ask(side.set, side.side, true).decision === "allow");
    if (!permitted) {
      return {
        decision: "deny",
        code: "not_permitted",
        policies: [],
        reasons: [`no policy permits the ${side.label} to ${question.describe}`],
      };
    }
  }
  const reviews = unique(forbids);
  return { decision: "review", policies: reviews, reasons: reviews.map((id) => reasonOf(agent, id)) };
}

function reasonOf(agent: LoadedAgent, id: string): string {
  return agent.info.get(id)?.reason ?? `policy ${id}`;
}

function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}
