import type { ActionRequest, PolicyDecision } from "../governance/index.ts";
import { type NewEvent, type PayloadOf, Principal } from "../journal/index.ts";
import type { NodeContext } from "./graph.ts";
import { approvalFor } from "./request-approval.ts";
import type { ToolCallState } from "./run-state.ts";

/** A tool call's decision and the `policy-decision` event that records it. */
export type ToolCallDecision = {
  decision: PolicyDecision;
  event: Extract<NewEvent, { type: "policy-decision" }>;
};

/**
 * Ask the governor about one proposed tool call (invariant 2). Without a governor, or when it throws, the answer
 * is a deny with its reason: nothing runs ungoverned. A call that already started (its worker died before its
 * end was recorded) is asked about as a retry: decided again, but not counted against its rate limits twice.
 */
export async function decideToolCall(
  context: NodeContext,
  call: ToolCallState,
  options: { shadowed?: boolean } = {},
): Promise<ToolCallDecision> {
  const { agent, journal, governor, signal } = context;
  const state = journal.state;
  const request: ActionRequest = {
    kind: "tool-call",
    runId: state.runId,
    agent: { name: agent.name, version: agent.version },
    ...(state.ancestors.length > 0 ? { ancestors: state.ancestors } : {}),
    principal: state.principal,
    tool: {
      name: call.tool,
      callId: call.callId,
      arguments: call.arguments,
      argumentsHash: call.argumentsHash,
    },
    dataClasses: state.dataClasses,
    ...(state.taints.length > 0 ? { taints: state.taints } : {}),
    ...(call.attempts > 0 ? { retry: { attempt: call.attempts + 1 } } : {}),
    ...(options.shadowed ? { shadowed: true as const } : {}),
  };
  const approval = approvalFor(state.approvals, call);
  if (approval?.argumentsHash) {
    request.approval = {
      id: approval.approvalId,
      argumentsHash: approval.argumentsHash,
      approvedBy: approval.approvedBy,
    };
  }
  let decision: PolicyDecision;
  if (!governor) {
    decision = {
      decision: "deny",
      code: "internal_error",
      stage: "internal",
      reasons: ["no governor is configured, so no action is allowed"],
      policies: [],
    };
  } else {
    try {
      decision = await governor.decide(request, { signal });
    } catch (error) {
      decision = {
        decision: "deny",
        code: "internal_error",
        stage: "internal",
        reasons: [
          `the governor failed, so the action is denied: ${error instanceof Error ? error.message : String(error)}`,
        ],
        policies: [],
      };
    }
  }
  return { decision, event: { type: "policy-decision", payload: policyDecisionPayload(request, decision) } };
}

/** The journal's record of a decision: who acted for whom, on what, which policies decided and why — never the token. */
export function policyDecisionPayload(
  request: ActionRequest,
  decision: PolicyDecision,
): PayloadOf<"policy-decision"> {
  const target =
    request.tool?.name ?? (request.model ? `${request.model.provider}/${request.model.id}` : request.target);
  // A malformed principal is itself a reason to deny; it is left out rather than failing the journal write.
  const principal = Principal.safeParse(request.principal);
  return {
    ...(request.tool ? { callId: request.tool.callId, argumentsHash: request.tool.argumentsHash } : {}),
    action: request.kind,
    decision: decision.decision,
    reasons: decision.reasons,
    ...(decision.decision === "deny" ? { code: decision.code } : {}),
    stage: decision.stage,
    agent: { name: request.agent.name, version: request.agent.version },
    ...(principal.success ? { principal: principal.data } : {}),
    ...(target === undefined ? {} : { target }),
    policies: decision.policies,
    ...(decision.shadow ? { shadow: decision.shadow } : {}),
    ...(decision.decision === "allow" && decision.capabilityId
      ? { capabilityId: decision.capabilityId }
      : {}),
    ...(Array.isArray(request.dataClasses) ? { dataClasses: request.dataClasses.map(String) } : {}),
    ...(request.retry ? { retry: true } : {}),
    ...(request.shadowed ? { shadowed: true as const } : {}),
  };
}
