import type { ActionRequest, DenyCode } from "./governor.ts";

const KINDS = new Set(["tool-call", "model-call", "handoff", "outbound-message", "delegation"]);

/**
 * What is wrong with an action request's shape, or null. The runtime builds requests from the journal, so a
 * malformed one means missing state — denied, never guessed at.
 */
export function checkActionRequest(request: ActionRequest): { code: DenyCode; reason: string } | null {
  const value = request as Partial<Record<keyof ActionRequest, unknown>> | null | undefined;
  if (!value || typeof value !== "object")
    return { code: "invalid_request", reason: "the action request is missing" };
  if (typeof value.kind !== "string" || !KINDS.has(value.kind)) {
    return { code: "invalid_request", reason: `unknown action kind ${JSON.stringify(value.kind)}` };
  }
  if (typeof value.runId !== "string" || value.runId === "") {
    return { code: "missing_session_state", reason: "the action names no run" };
  }
  const agent = value.agent as { name?: unknown; version?: unknown } | undefined;
  if (!agent || typeof agent.name !== "string" || typeof agent.version !== "string") {
    return { code: "unknown_agent", reason: "the action names no agent version" };
  }
  const principal = value.principal as { subject?: unknown; tenant?: unknown; roles?: unknown } | undefined;
  if (
    !principal ||
    typeof principal.subject !== "string" ||
    principal.subject === "" ||
    typeof principal.tenant !== "string" ||
    principal.tenant === "" ||
    !Array.isArray(principal.roles) ||
    !principal.roles.every((role) => typeof role === "string")
  ) {
    return {
      code: "invalid_principal",
      reason: "the run carries no valid principal (subject, tenant, roles)",
    };
  }
  if (!Array.isArray(value.dataClasses) || !value.dataClasses.every((name) => typeof name === "string")) {
    return {
      code: "missing_session_state",
      reason: "the run's data classes are missing, so its session state is unknown",
    };
  }
  if (
    value.taints !== undefined &&
    (!Array.isArray(value.taints) ||
      !value.taints.every(
        (taint: { tool?: unknown; callId?: unknown } | null) =>
          typeof taint?.tool === "string" && typeof taint.callId === "string",
      ))
  ) {
    return {
      code: "missing_session_state",
      reason: "the run's taints are malformed, so its context is unknown",
    };
  }
  switch (value.kind) {
    case "tool-call": {
      const tool = value.tool as { name?: unknown; callId?: unknown; argumentsHash?: unknown } | undefined;
      if (
        !tool ||
        typeof tool.name !== "string" ||
        typeof tool.callId !== "string" ||
        typeof tool.argumentsHash !== "string"
      ) {
        return {
          code: "invalid_request",
          reason: "a tool call needs a tool name, call id and argument hash",
        };
      }
      if (!("arguments" in tool))
        return { code: "invalid_arguments", reason: "the tool call has no arguments" };
      return null;
    }
    case "model-call": {
      const model = value.model as { provider?: unknown; id?: unknown } | undefined;
      if (!model || typeof model.provider !== "string" || typeof model.id !== "string") {
        return { code: "invalid_request", reason: "a model call needs a provider and a model id" };
      }
      return null;
    }
    default:
      return typeof value.target === "string" && value.target !== ""
        ? null
        : { code: "invalid_request", reason: `a ${value.kind} needs a target` };
  }
}
