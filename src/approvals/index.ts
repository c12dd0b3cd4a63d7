/**
 * Humans in the loop: approval requests for held tool calls, drafts and handoffs; the queue (routing, priority,
 * SLA); decisions bound to an argument hash with separation of duties; expiry; metrics; resolutions as eval cases.
 */
export { type ApprovalMetrics, approvalMetrics, registerApprovalMetrics } from "./approval-metrics.ts";
export { type ApprovalAgent, type ApprovalRouting, routeApproval } from "./approval-policy.ts";
export { type ApprovalView, foldApproval } from "./approval-view.ts";
export { buildApprovalRequest, newApprovalId } from "./build-approval-request.ts";
export { checkDecision, type DecisionInput } from "./check-decision.ts";
export { type DecideApprovalOptions, type DecisionOutcome, decideApproval } from "./decide-approval.ts";
export { type ApprovalTimer, createApprovalTimer, expireDueApprovals } from "./expire-approvals.ts";
export { explainRun } from "./explain-run.ts";
export { caseFromResolution } from "./promote-resolution.ts";
export { redactArguments } from "./redact-arguments.ts";
export { withRunLease } from "./with-run-lease.ts";
