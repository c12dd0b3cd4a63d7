import { buildApprovalRequest } from "../approvals/index.ts";
import type { ActionRequest, PolicyDecision } from "../governance/index.ts";
import type { ErrorInfo, NewEvent } from "../journal/index.ts";
import type { HandoffNodeDefinition } from "../spec/index.ts";
import { policyDecisionPayload } from "./decide-tool-call.ts";
import type { NodeContext } from "./graph.ts";
import { renderTemplate, type WorkflowScope } from "./workflow-values.ts";

/**
 * Hand the conversation over; the workflow ends here. To a queue or a person it goes the way the agent loop hands
 * a run off: a `handoff` approval request with the rendered reason, and the run suspends until someone resolves it
 * (their answer becomes the run's answer) or closes it. To another agent it is a delegation the governor decides
 * (`governance.allowedAgents`, Cedar action `delegate`): allowed, the agent is started as a child run with the
 * conversation — the run's input and the reason — and the run completes with the child's id in the node's output;
 * denied, the node fails and the run ends saying why. The child's start is idempotent per node visit, so a replay
 * after a crash finds the same child instead of starting a second.
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
      : typeof rendered === "string"
        ? rendered
        : JSON.stringify(rendered);
  const to = { kind: node.to.kind, name: node.to.name };
  if (node.to.kind !== "agent") {
    const request = buildApprovalRequest({
      agent,
      kind: "handoff",
      run: {
        input: state.input,
        principal: state.principal,
        step: state.workflow.steps,
        dataClasses: state.dataClasses,
        messages: state.messages,
      },
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
  if (decision.decision !== "allow") {
    await fail(context, node, visit, [decided], {
      code: "delegation_denied",
      message: `the governor did not allow handing off to agent ${target.name} (${decision.decision}): ${
        decision.reasons.join("; ") || "no policy permits it"
      }`,
    });
    return;
  }
  const { run: child } = await children.start({
    agent: target.name,
    input: `${state.input}\n\n(Handed over by ${agent.name}: ${reason})`,
    node: node.name,
    visit,
    idempotencyKey: `${state.runId}:${node.name}.${visit}`,
  });
  await journal.commit(
    decided,
    {
      type: "node-end",
      payload: {
        node: node.name,
        visit,
        outcome: "ok",
        output: { handoff: { ...to, runId: child.runId }, reason },
        next: null,
      },
    },
    {
      type: "run-end",
      payload: {
        status: "completed",
        answer: `Handed over to ${target.name} (run ${child.runId}): ${reason}`,
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
