import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { CALL_TOOL, ENTITY } from "./cedar-names.ts";

/** Which principal a Cedar question is asked for: the agent, or the user it acts for. */
export type Side = "agent" | "user";

/**
 * The parts of `context` some policy reads: `whole` when a policy uses the value itself, otherwise only the
 * children named. Cedar reads attributes by literal name only, so the policies' text tells the full set.
 */
export type PathTree = { whole: boolean; children: Map<string, PathTree> };

/** What the governor needs to know of one policy to index it by action and side and to prune its request. */
export type PolicyShape = {
  id: string;
  effect: "permit" | "forbid";
  review: boolean;
  principal: cedar.PrincipalConstraint;
  action: cedar.ActionConstraint;
  resource: cedar.ResourceConstraint;
  unconditional: boolean;
  /** Variables the conditions read (principal, action, resource, context). */
  reads: Set<string>;
  context: PathTree;
};

export function emptyTree(): PathTree {
  return { whole: false, children: new Map() };
}

/** Read a policy's scope and what its conditions touch, from Cedar's own JSON form of it. */
export function analysePolicy(id: string, text: string, review: boolean): PolicyShape {
  const parsed = cedar.policyToJson(text);
  if (parsed.type === "failure")
    throw new Error(`${id}: ${parsed.errors.map((error) => error.message).join("; ")}`);
  const json = parsed.json;
  const reads = new Set<string>();
  const context = emptyTree();
  for (const clause of json.conditions) walk(clause.body, false, reads, context);
  return {
    id,
    effect: json.effect,
    review,
    principal: json.principal,
    action: json.action,
    resource: json.resource,
    unconditional: json.conditions.length === 0,
    reads,
    context,
  };
}

/** The attribute path of a pure chain `context.a.b` (or `context["a"]`), or null. */
function contextPath(expr: unknown): string[] | null {
  if (expr === null || typeof expr !== "object") return null;
  const node = expr as Record<string, unknown>;
  if ((node.Var as string | undefined) === "context") return [];
  const access = node["."] as { left: unknown; attr: string } | undefined;
  if (!access) return null;
  const left = contextPath(access.left);
  return left === null ? null : [...left, access.attr];
}

function walk(expr: unknown, underAccess: boolean, reads: Set<string>, tree: PathTree): void {
  if (expr === null || typeof expr !== "object") return;
  if (Array.isArray(expr)) {
    for (const item of expr) walk(item, false, reads, tree);
    return;
  }
  const node = expr as Record<string, unknown>;
  if (typeof node.Var === "string") {
    reads.add(node.Var);
    if (node.Var === "context" && !underAccess) mark(tree, []);
    return;
  }
  const access = node["."] as { left: unknown; attr: string } | undefined;
  if (access) {
    const path = contextPath(node);
    if (path && !underAccess) mark(tree, path);
    walk(access.left, true, reads, tree);
    return;
  }
  const has = node.has as { left: unknown; attr: string | string[] } | undefined;
  if (has) {
    const path = contextPath(has.left);
    if (path) mark(tree, [...path, ...(Array.isArray(has.attr) ? has.attr : [has.attr])]);
    walk(has.left, true, reads, tree);
    return;
  }
  if ("Value" in node) return;
  for (const value of Object.values(node)) walk(value, false, reads, tree);
}

function mark(tree: PathTree, path: readonly string[]): void {
  let node = tree;
  for (const segment of path) {
    if (node.whole) return;
    let child = node.children.get(segment);
    if (!child) {
      child = emptyTree();
      node.children.set(segment, child);
    }
    node = child;
  }
  node.whole = true;
  node.children.clear();
}

/** Merge `from` into `into`. */
export function mergeTree(into: PathTree, from: PathTree): void {
  if (into.whole) return;
  if (from.whole) {
    into.whole = true;
    into.children.clear();
    return;
  }
  for (const [name, child] of from.children) {
    const existing = into.children.get(name);
    if (existing) mergeTree(existing, child);
    else into.children.set(name, cloneTree(child));
  }
}

function cloneTree(tree: PathTree): PathTree {
  return {
    whole: tree.whole,
    children: new Map([...tree.children].map(([name, child]) => [name, cloneTree(child)])),
  };
}

/** Whether a policy's action scope can match the action `actionId` (a tool action is in the `call_tool` group). */
export function matchesAction(constraint: cedar.ActionConstraint, actionId: string): boolean {
  const ancestors = actionId.startsWith("tool:") ? [actionId, CALL_TOOL] : [actionId];
  const id = (entity: cedar.EntityUidJson) => ("__entity" in entity ? entity.__entity.id : entity.id);
  switch (constraint.op) {
    case "All":
      return true;
    case "==":
      return "entity" in constraint ? id(constraint.entity) === actionId : true;
    case "in":
      return "entity" in constraint
        ? ancestors.includes(id(constraint.entity))
        : constraint.entities.some((entity) => ancestors.includes(id(entity)));
    default:
      return true;
  }
}

/**
 * Whether a policy's principal scope can match this side: the agent (only `Keel::Agent::"<agent>"`) or a user
 * (any `Keel::User`, member of roles and a tenant). When in doubt it is kept: pruning must never drop a policy
 * that could apply.
 */
export function matchesSide(constraint: cedar.PrincipalConstraint, side: Side, agent: string): boolean {
  const type = (entity: cedar.EntityUidJson) => ("__entity" in entity ? entity.__entity.type : entity.type);
  const id = (entity: cedar.EntityUidJson) => ("__entity" in entity ? entity.__entity.id : entity.id);
  switch (constraint.op) {
    case "All":
      return true;
    case "==":
      if (!("entity" in constraint)) return true;
      return side === "agent"
        ? type(constraint.entity) === ENTITY.agent && id(constraint.entity) === agent
        : type(constraint.entity) === ENTITY.user;
    case "is":
      return constraint.entity_type === (side === "agent" ? ENTITY.agent : ENTITY.user);
    case "in":
      if (!("entity" in constraint)) return true;
      // An agent has no parents; a user is in its roles and its tenant.
      return side === "agent"
        ? type(constraint.entity) === ENTITY.agent && id(constraint.entity) === agent
        : [ENTITY.user, ENTITY.role, ENTITY.tenant].includes(type(constraint.entity) as never);
    default:
      return true;
  }
}

/** Whether a policy needs the principal's entity (its attributes or ancestors) to be evaluated. */
export function needsPrincipalEntity(shape: PolicyShape): boolean {
  return (
    shape.reads.has("principal") ||
    shape.principal.op === "in" ||
    (shape.principal.op === "is" && "in" in shape.principal)
  );
}

export function needsResourceEntity(shape: PolicyShape): boolean {
  return (
    shape.reads.has("resource") ||
    shape.resource.op === "in" ||
    (shape.resource.op === "is" && "in" in shape.resource)
  );
}

/** Whether deciding `actionId` needs the action's entity: only to see it is in a group (`in call_tool`). */
export function needsActionEntity(shape: PolicyShape, actionId: string): boolean {
  if (shape.reads.has("action")) return true;
  if (shape.action.op !== "in") return false;
  const id = (entity: cedar.EntityUidJson) => ("__entity" in entity ? entity.__entity.id : entity.id);
  const named = "entity" in shape.action ? [id(shape.action.entity)] : shape.action.entities.map(id);
  return !named.includes(actionId);
}

/** The parts of `value` the tree asks for. */
export function pruneValue(value: unknown, tree: PathTree): unknown {
  if (tree.whole) return value;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const picked: Record<string, unknown> = {};
  for (const [name, child] of tree.children) {
    if (!Object.hasOwn(value, name)) continue;
    picked[name] = pruneValue((value as Record<string, unknown>)[name], child);
  }
  return picked;
}
