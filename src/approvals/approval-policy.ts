import type { ApprovalKind, ApprovalPriority } from "../journal/index.ts";
import type { ApprovalsSection } from "../spec/index.ts";

/** Four hours: the SLA of an agent whose spec has no approvals section. */
export const DEFAULT_SLA_MS = 4 * 3_600_000;

/** What an agent is, as far as deciding where its requests go. */
export type ApprovalAgent = {
  name: string;
  version: string;
  owner: { team: string; person?: string };
  riskTier: 1 | 2 | 3;
  approvals?: ApprovalsSection | undefined;
};

/** Where one request goes, who may decide it, and how long it may wait. */
export type ApprovalRouting = {
  routeTo: string;
  priority: ApprovalPriority;
  slaMs: number;
  onTimeout: "deny" | "escalate";
  escalateTo?: string;
  requiredApprovals: number;
  approverRoles: string[];
};

/**
 * Route a request by agent and tool: the queue the request names itself (a workflow node's `routeTo`), else the
 * tool's route, else the section's queue, else the owning team. Tier-1 agents (and the tools or agents the spec
 * names) need two distinct approvers; approvers need the approver role for the agent or for the team whose queue
 * it is, unless the spec names roles.
 */
export function routeApproval(
  agent: ApprovalAgent,
  request: { kind: ApprovalKind; tool?: string; routeTo?: string; slaMs?: number },
): ApprovalRouting {
  const section = agent.approvals;
  const route =
    request.tool === undefined ? undefined : section?.routes.find((each) => each.tool === request.tool);
  const routeTo =
    request.routeTo ??
    (request.kind === "handoff"
      ? (section?.handoffTo ?? section?.routeTo ?? agent.owner.team)
      : (route?.to ?? section?.routeTo ?? agent.owner.team));
  const twoPerson =
    agent.riskTier === 1 ||
    section?.twoPersonRule === true ||
    (Array.isArray(section?.twoPersonRule) &&
      request.tool !== undefined &&
      section.twoPersonRule.includes(request.tool));
  return {
    routeTo,
    priority: route?.priority ?? section?.priority ?? "normal",
    slaMs: request.slaMs ?? section?.sla ?? DEFAULT_SLA_MS,
    onTimeout: section?.onTimeout ?? "deny",
    ...(section?.escalateTo === undefined ? {} : { escalateTo: section.escalateTo }),
    requiredApprovals: request.kind === "handoff" ? 1 : twoPerson ? 2 : 1,
    approverRoles: section?.approverRoles ?? [`approver:${agent.name}`, `approver:${routeTo}`],
  };
}
