import { buildApprovalRequest } from "../approvals/index.ts";
import type { ErrorInfo, NewEvent } from "../journal/index.ts";
import type { ApprovalNodeDefinition, JsonValue } from "../spec/index.ts";
import type { NodeContext } from "./graph.ts";
import { approvalContext } from "./request-approval.ts";
import type { RunApproval } from "./run-state.ts";
import { renderTemplate, valueText, type WorkflowScope } from "./workflow-values.ts";

/**
 * A human task through the approvals queue. Entering the node journals a `task` approval request — the node's
 * queue and SLA, the form's JSON Schema, and a summary rendered from the state — and suspends the run on it, with
 * the SLA's end as the run's durable timer when the node has an `onTimeout` (without one the request stays open
 * past its SLA, shown as overdue). The person decides through the approvals API or `keel approvals`, with the
 * queue's roles and two-person rule; the decision resumes the run and this node reads it from the journal:
 * approved, the form's values are the node's output (written to `writes`) and the run goes to `next`; rejected, to
 * `onDeny` or the run ends; the timer fired first, the request is closed as expired and the run goes to
 * `onTimeout`. Whatever the person decided is what the journal says, and each visit asks once (`<node>.<visit>`).
 */
export async function runApprovalNode(
  node: ApprovalNodeDefinition,
  visit: number,
  context: NodeContext,
  scope: () => WorkflowScope,
): Promise<void> {
  const { journal } = context;
  const state = journal.state;
  const callId = `${node.name}.${visit}`;
  const request = state.approvals.find((each) => each.kind === "task" && each.callId === callId);
  if (!request) {
    await journal.commit(...askPerson(node, callId, context, scope()));
    return;
  }
  switch (request.status) {
    case "approved": {
      const values = (request.values ?? {}) as JsonValue;
      await journal.commit({
        type: "node-end",
        payload: {
          node: node.name,
          visit,
          outcome: "ok",
          output: values,
          ...(node.writes === undefined ? {} : { writes: node.writes }),
          next: node.next,
        },
      });
      return;
    }
    case "rejected":
    case "resolved":
      await leave(context, node, visit, node.onDeny, {
        code: "approval_denied",
        message: `${request.decidedBy ?? "a person"} rejected the task (approval ${request.approvalId})`,
      });
      return;
    case "expired":
      await leave(context, node, visit, node.onTimeout, timedOut(node, request));
      return;
    case "pending": {
      const wait = state.workflow.wait;
      if (wait?.fired) {
        // The SLA passed before anyone decided: the request is closed, so a late decision is refused (409).
        await journal.commit(
          {
            type: "approval-expire",
            payload: { approvalId: request.approvalId, outcome: "denied", expiredAt: wait.until ?? "" },
          },
          ...endEvents(node, visit, node.onTimeout, timedOut(node, request), state.workflow.steps),
        );
        return;
      }
      // Resumed with nobody's decision (an interrupted resume): wait for the same request again.
      await journal.commit({
        type: "run-suspend",
        payload: {
          reason: `node ${node.name} waits for ${node.routeTo} to complete the task`,
          approvalId: request.approvalId,
          ...(wait?.until ? { wait: { until: wait.until } } : {}),
        },
      });
      return;
    }
    default: {
      const unreachable: never = request.status;
      throw new Error(`unknown approval status ${String(unreachable)}`);
    }
  }
}

/** The request and the suspension, committed together so a suspended run always has its request. */
function askPerson(
  node: ApprovalNodeDefinition,
  callId: string,
  context: NodeContext,
  scope: WorkflowScope,
): NewEvent[] {
  const { agent, journal } = context;
  const state = journal.state;
  const rendered = node.summary ? renderTemplate(node.summary, scope) : null;
  const summary =
    rendered === null ? (node.description ?? `complete the ${node.name} step`) : valueText(rendered);
  const request = buildApprovalRequest({
    agent,
    kind: "task",
    run: approvalContext(state, state.workflow.steps),
    task: { callId, summary, form: node.form, routeTo: node.routeTo, slaMs: node.slaMs },
    reasons: [`the workflow's ${node.name} step is a task for ${node.routeTo}`],
    policies: [`workflow.nodes.${node.name}`],
    now: new Date(),
  });
  return [
    { type: "approval-request", payload: request },
    {
      type: "run-suspend",
      payload: {
        reason: `node ${node.name} waits for ${request.routeTo} to complete the task${node.onTimeout === undefined ? "" : ` until ${request.expiresAt}`}`,
        approvalId: request.approvalId,
        // Only a node with somewhere to go when the SLA passes sets a timer; otherwise the request stays open.
        ...(node.onTimeout === undefined ? {} : { wait: { until: request.expiresAt } }),
      },
    },
  ];
}

function timedOut(node: ApprovalNodeDefinition, request: RunApproval): ErrorInfo {
  return {
    code: "approval_timeout",
    message: `nobody in ${node.routeTo} completed the task within its SLA (approval ${request.approvalId})`,
  };
}

/** Leave the node on a failed outcome: to `to` when the node names a path for it, else the run ends failed. */
async function leave(
  context: NodeContext,
  node: ApprovalNodeDefinition,
  visit: number,
  to: string | undefined,
  error: ErrorInfo,
): Promise<void> {
  await context.journal.commit(...endEvents(node, visit, to, error, context.journal.state.workflow.steps));
}

function endEvents(
  node: ApprovalNodeDefinition,
  visit: number,
  to: string | undefined,
  error: ErrorInfo,
  steps: number,
): NewEvent[] {
  const end: NewEvent = {
    type: "node-end",
    payload: { node: node.name, visit, outcome: "failed", error, next: to ?? null },
  };
  if (to !== undefined) return [end];
  return [
    end,
    {
      type: "run-end",
      payload: {
        status: "failed",
        error: { code: error.code, message: `node ${node.name}: ${error.message}` },
        steps,
      },
    },
  ];
}
