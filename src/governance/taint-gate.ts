import type { PolicyOutcome } from "./evaluate-policies.ts";
import type { ActionRequest } from "./governor.ts";
import type { LoadedAgent, LoadedTool } from "./load-governed-agent.ts";

/** The policy id a call held by the taint gate is recorded under: the spec setting that asks for it. */
export const TAINT_POLICY = "guards.toolResults.taint";

/**
 * Hold a tainted run's call to a gated tool for review. A run whose context holds a tool result a guard flagged as
 * prompt injection (and let through) is exactly the run an indirect injection steers: its calls to tools that send
 * data outside — and, under `side-effects`, tools that change things — wait for a person, with a reason naming the
 * flagged results. A deny stays a deny; a policy's own review keeps its reasons beside this one. A person's
 * approval bound to the arguments then lets the call run, as for any review.
 */
export function applyTaintGate(
  outcome: PolicyOutcome,
  agent: LoadedAgent,
  tool: LoadedTool | null,
  request: ActionRequest,
): PolicyOutcome {
  const taints = request.taints ?? [];
  if (outcome.decision === "deny" || request.kind !== "tool-call" || !tool || taints.length === 0)
    return outcome;
  const gated =
    agent.taintGate === "outbound"
      ? tool.sendsDataOutside
      : agent.taintGate === "side-effects"
        ? tool.sendsDataOutside || tool.sideEffect
        : false;
  if (!gated) return outcome;
  const sources = taints.map((taint) => `${taint.tool} (call ${taint.callId}, ${taint.detector})`).join(", ");
  const what = tool.sendsDataOutside ? "sends data outside" : "changes things";
  const reason = `the run read a result flagged as prompt injection from ${sources}, so ${tool.name}, which ${what}, needs review`;
  return outcome.decision === "review"
    ? {
        decision: "review",
        policies: [...outcome.policies, TAINT_POLICY],
        reasons: [...outcome.reasons, reason],
      }
    : { decision: "review", policies: [TAINT_POLICY], reasons: [reason] };
}
