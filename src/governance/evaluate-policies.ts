import type { Principal } from "../journal/events.ts";
import { toCedarValue } from "./cedar-input.ts";
import { CALL_MODEL, ENTITY, HANDOFF, ref, SEND_MESSAGE } from "./cedar-names.ts";
import { numericView } from "./cedar-values.ts";
import type { ActionRequest } from "./governor.ts";
import type { LoadedAgent, LoadedTool, PolicySets } from "./load-governed-agent.ts";
import type { EntityRef, PolicyAnswer, PolicyEngine, PolicyEntity } from "./policy-engine.ts";

/** What the policies say about one action, before rate limits and capability tokens. */
export type PolicyOutcome =
  | { decision: "allow" | "review"; policies: string[]; reasons: string[] }
  | {
      decision: "deny";
      code: "forbidden" | "not_permitted" | "policy_error";
      policies: string[];
      reasons: string[];
    };

/** The Cedar question for an action, asked once for the agent and once for the user. */
export type PolicyQuestion = {
  action: EntityRef;
  resource: EntityRef;
  context: Record<string, unknown>;
  entities: PolicyEntity[];
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
  const session = { dataClasses: [...request.dataClasses] };
  const user = { subject: principal.subject, tenant: principal.tenant, roles: [...principal.roles] };
  const userEntity = buildUserEntity(principal);
  if (request.kind === "tool-call" && tool && request.tool) {
    const context: Record<string, unknown> = {
      input: (tool.inputType && toCedarValue(request.tool.arguments, tool.inputType)) ?? {},
      numbers: numericView(request.tool.arguments),
      session,
      user,
      argumentsHash: request.tool.argumentsHash,
    };
    const records = recordsAsked(tool, checkedArguments);
    if (records !== null) context.records = records;
    return {
      action: tool.action,
      resource: tool.resource,
      context,
      entities: [agent.agentEntity, userEntity, tool.entity, tool.actionEntity],
      describe: `call ${tool.name}`,
    };
  }
  const actionId =
    request.kind === "model-call" ? CALL_MODEL : request.kind === "handoff" ? HANDOFF : SEND_MESSAGE;
  const resource =
    request.kind === "model-call"
      ? ref(ENTITY.model, `${request.model?.provider ?? ""}/${request.model?.id ?? ""}`)
      : ref(ENTITY.target, request.target ?? "");
  const resourceEntity: PolicyEntity =
    request.kind === "model-call"
      ? {
          uid: resource,
          attrs: { provider: request.model?.provider ?? "", id: request.model?.id ?? "" },
          parents: [],
        }
      : { uid: resource, attrs: {}, parents: [] };
  return {
    action: ref(ENTITY.action, actionId),
    resource,
    context: { session, user },
    entities: [agent.agentEntity, userEntity, resourceEntity, agent.actionEntities.get(actionId)!],
    describe:
      request.kind === "model-call" ? `call the model ${resource.id}` : `${actionId} to ${resource.id}`,
  };
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
  const ask = (setId: string, who: EntityRef): PolicyAnswer =>
    engine.evaluate({
      setId,
      principal: who,
      action: question.action,
      resource: question.resource,
      context: question.context,
      entities: question.entities,
    });
  const userRef = ref(ENTITY.user, principal.subject);
  const sides = [
    { who: agent.agentRef, label: `agent ${agent.name}`, answer: ask(sets.all, agent.agentRef) },
    { who: userRef, label: `user ${principal.subject}`, answer: ask(sets.all, userRef) },
  ];
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
      (side.answer.determining.length > 0 && ask(sets.noReview, side.who).decision === "allow");
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
