import { KeelError } from "../errors/index.ts";
import type { ApprovalView } from "./approval-view.ts";

/**
 * A person's resolution of an escalated run as an eval case (the evals capability's case shape, source
 * `escalation`): the run's input, what the person answered as the reference, and where it came from. Only a
 * decided request has something to learn from.
 */
export function caseFromResolution(view: ApprovalView, options: { id?: string } = {}) {
  const decision = view.decisions.find((each) => each.final);
  if (!decision)
    throw new KeelError("conflict", `approval ${view.request.approvalId} has not been decided yet`);
  const { request } = view;
  const reference =
    decision.resolution ??
    (decision.decision === "approve"
      ? `${request.tool} was approved by ${decision.by.subject}${decision.edited ? " with edited arguments" : ""}`
      : `${request.tool ?? "the request"} was rejected by ${decision.by.subject}${decision.comment ? `: ${decision.comment}` : ""}`);
  const governance =
    request.tool === undefined
      ? undefined
      : { [request.tool]: decision.decision === "approve" ? "approved" : "denied" };
  return {
    id: options.id ?? `escalation-${request.approvalId.replace(/^apr_/, "")}`,
    input: request.context.input,
    category: "escalation",
    tags: ["escalation", request.kind, ...(request.tool ? [request.tool] : [])],
    notes: `${request.summary}${decision.comment ? ` — ${decision.by.subject}: ${decision.comment}` : ""}`,
    principal: request.context.principal,
    expect: {
      reference,
      ...(decision.resolution ? { status: "completed" as const } : {}),
      ...(governance && request.kind !== "draft" ? { governance } : {}),
    },
    source: { kind: "escalation" as const, ref: `${view.runId}/${request.approvalId}` },
  };
}
