import { buildApprovalRequest } from "../approvals/index.ts";
import type { ActionRequest, PolicyDecision } from "../governance/index.ts";
import type { ErrorInfo, NewEvent } from "../journal/index.ts";
import type { HandoffNodeDefinition } from "../spec/index.ts";
import type { ChildRuns } from "./child-runs.ts";
import { policyDecisionPayload } from "./decide-tool-call.ts";
import type { NodeContext } from "./graph.ts";
import { approvalContext } from "./request-approval.ts";
import type { RunApproval } from "./run-state.ts";
import { renderTemplate, valueText, type WorkflowScope } from "./workflow-values.ts";

/**
 * Hand the conversation over; the workflow ends here. To a queue or a person it goes the way the agent loop hands
 * a run off: a `handoff` approval request with the rendered reason, and the run suspends until someone resolves it
 * (their answer becomes the run's answer) or closes it. To another agent it is a delegation the governor decides
 * (`governance.allowedAgents`, Cedar action `delegate`): allowed, the agent is started as a child run with the
 * conversation — the run's input and the reason — and the run completes with the child's id in the node's output;
 * held for review (a `@review` policy), a person is asked through the approvals inbox (kind `delegation`) and the
 * run suspends until they decide; denied — by the governor, the person, or nobody deciding in time — the node fails
 * and the run ends saying why. The child's start is idempotent per node visit, so a replay after a crash finds the
 * same child instead of starting a second.
 */
export async function runHandoffNode(
  node: HandoffNodeDefinition,
  visit: number,
  context: NodeContext,
  scope: () => WorkflowScope,
): Promise<void> {
  const { agent, journal } = context;
  const state = journal.state;
  const rendered = node.reason ? renderTemplate(node.reason, scope()) : null;
  const reason =
    rendered === null || rendered === ""
      ? `${agent.name} handed the conversation to ${node.to.kind} ${node.to.name}`
      : valueText(rendered);
  const to = { kind: node.to.kind, name: node.to.name };
  if (node.to.kind !== "agent") {
    const request = buildApprovalRequest({
      agent,
      kind: "handoff",
      run: approvalContext(state, state.workflow.steps),
      routeTo: node.to.name,
      reasons: [reason],
      policies: [`workflow.nodes.${node.name}`],
      now: new Date(),
    });
    await journal.commit(
      {
        type: "node-end",
        payload: {
          node: node.name,
          visit,
          outcome: "ok",
          output: { handoff: to, reason, approvalId: request.approvalId },
          next: null,
        },
      },
      { type: "approval-request", payload: request },
      {
        type: "run-suspend",
        payload: { reason: `handed off to ${request.routeTo}: ${reason}`, approvalId: request.approvalId },
      },
    );
    return;
  }
  const { children } = context;
  const target = children?.agent(node.to.name);
  if (!children || !target) {
    await fail(context, node, visit, [], {
      code: "unknown_agent",
      message: `node ${node.name} hands off to agent ${node.to.name}, which this Keel does not serve`,
    });
    return;
  }
  const callId = `${node.name}.${visit}`;
  const held = state.approvals.find((each) => each.kind === "delegation" && each.callId === callId);
  if (held) {
    await settleHeld(context, children, node, visit, target.name, reason, held);
    return;
  }
  const request: ActionRequest = {
    kind: "delegation",
    runId: state.runId,
    agent: { name: agent.name, version: agent.version },
    ...(state.ancestors.length > 0 ? { ancestors: state.ancestors } : {}),
    principal: state.principal,
    target: target.name,
    dataClasses: state.dataClasses,
  };
  const decision = await decide(context, request);
  const decided: NewEvent = { type: "policy-decision", payload: policyDecisionPayload(request, decision) };
  switch (decision.decision) {
    case "allow":
      await handOver(context, children, node, visit, target.name, reason, [decided]);
      return;
    case "review": {
      // Held for a person: the request and the suspension go in one commit, so a suspended run has its request.
      const approval = buildApprovalRequest({
        agent,
        kind: "delegation",
        run: approvalContext(state, state.workflow.steps),
        delegation: { callId, to: target.name, reason },
        reasons: decision.reasons,
        policies: decision.policies,
        now: new Date(),
      });
      await journal.commit(
        decided,
        { type: "approval-request", payload: approval },
        {
          type: "run-suspend",
          payload: {
            reason: `node ${node.name} waits for ${approval.routeTo} to allow handing off to ${target.name}`,
            approvalId: approval.approvalId,
          },
        },
      );
      return;
    }
    case "deny":
      await fail(context, node, visit, [decided], {
        code: "delegation_denied",
        message: `the governor did not allow handing off to agent ${target.name}: ${
          decision.reasons.join("; ") || "no policy permits it"
        }`,
      });
      return;
    default: {
      const unreachable: never = decision;
      throw new Error(`unknown decision ${String((unreachable as PolicyDecision).decision)}`);
    }
  }
}

/** A delegation a person was asked about: hand over once approved, end the run once refused or expired. */
async function settleHeld(
  context: NodeContext,
  children: ChildRuns,
  node: HandoffNodeDefinition,
  visit: number,
  target: string,
  reason: string,
  held: RunApproval,
): Promise<void> {
  switch (held.status) {
    case "approved":
      await handOver(context, children, node, visit, target, reason, []);
      return;
    case "rejected":
    case "resolved":
      await fail(context, node, visit, [], {
        code: "delegation_denied",
        message: `${held.decidedBy ?? "a person"} did not allow handing off to agent ${target} (approval ${held.approvalId})`,
      });
      return;
    case "expired":
      await fail(context, node, visit, [], {
        code: "approval_expired",
        message: `nobody decided in time whether to hand off to agent ${target} (approval ${held.approvalId}), so it was not done`,
      });
      return;
    case "pending":
      // Resumed with nobody's decision (an interrupted resume): wait for the same request again.
      await context.journal.commit({
        type: "run-suspend",
        payload: {
          reason: `node ${node.name} waits for a person to allow handing off to ${target}`,
          approvalId: held.approvalId,
        },
      });
      return;
    default: {
      const unreachable: never = held.status;
      throw new Error(`unknown approval status ${String(unreachable)}`);
    }
  }
}

/** Start the agent as a child run (idempotent per node visit) and complete the run with its id. */
async function handOver(
  context: NodeContext,
  children: ChildRuns,
  node: HandoffNodeDefinition,
  visit: number,
  target: string,
  reason: string,
  before: NewEvent[],
): Promise<void> {
  const { agent, journal } = context;
  const state = journal.state;
  const { run: child } = await children.start({
    agent: target,
    input: `${state.input}\n\n(Handed over by ${agent.name}: ${reason})`,
    node: node.name,
    visit,
    idempotencyKey: `${state.runId}:${node.name}.${visit}`,
  });
  await journal.commit(
    ...before,
    {
      type: "node-end",
      payload: {
        node: node.name,
        visit,
        outcome: "ok",
        output: { handoff: { kind: "agent", name: target, runId: child.runId }, reason },
        next: null,
      },
    },
    {
      type: "run-end",
      payload: {
        status: "completed",
        answer: `Handed over to ${target} (run ${child.runId}): ${reason}`,
        steps: state.workflow.steps,
      },
    },
  );
}

/** The governor's answer; no governor, or one that fails, is a deny (invariant 2). */
async function decide(context: NodeContext, request: ActionRequest): Promise<PolicyDecision> {
  try {
    if (!context.governor) throw new Error("no governor is configured, so no action is allowed");
    return await context.governor.decide(request, { signal: context.signal });
  } catch (error) {
    return {
      decision: "deny",
      code: "internal_error",
      stage: "internal",
      policies: [],
      reasons: [`the governor failed: ${error instanceof Error ? error.message : String(error)}`],
    };
  }
}

async function fail(
  context: NodeContext,
  node: HandoffNodeDefinition,
  visit: number,
  before: NewEvent[],
  error: ErrorInfo,
): Promise<void> {
  await context.journal.commit(
    ...before,
    { type: "node-end", payload: { node: node.name, visit, outcome: "failed", error, next: null } },
    {
      type: "run-end",
      payload: {
        status: "failed",
        error: { code: error.code, message: `node ${node.name}: ${error.message}` },
        steps: context.journal.state.workflow.steps,
      },
    },
  );
}
