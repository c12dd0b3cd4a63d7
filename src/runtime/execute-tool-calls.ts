import type { InFlightAction } from "../governance/governor.ts";
import type { ErrorInfo, NewEvent } from "../journal/events.ts";
import { toolCallTraceParent } from "../journal/trace-context.ts";
import { executeToolCall } from "../tools/execute-tool-call.ts";
import { decideToolCall } from "./decide-tool-call.ts";
import type { GraphNode, NodeContext } from "./graph.ts";
import { guardToolResult } from "./guard-tool-result.ts";
import { maskOutboundArguments } from "./mask-outbound-arguments.ts";
import { approvalFor, requestApproval } from "./request-approval.ts";
import { isPause } from "./run-interrupt.ts";
import type { ToolCallState } from "./run-state.ts";

/** A call started this many times without a recorded end is not started again. */
const MAX_ATTEMPTS = 2;

/**
 * The tool node: runs the calls the latest model turn proposed, in order. The governor decides each call first
 * and the decision is journaled with it: a deny goes back to the model as a tool error, a review suspends the run
 * with the call recorded as pending, a kill ends the run. Each call's start is durable before the tool runs and
 * its end before the run moves on, so a crash re-runs at most the one call that was in flight, once, with the
 * same idempotency key.
 */
export const executeToolCalls: GraphNode = {
  name: "tools",
  async run(context: NodeContext): Promise<void> {
    for (const call of context.journal.state.toolCalls.filter((candidate) => !candidate.ended)) {
      if (context.signal.aborted || context.journal.state.status !== "running") return;
      await runOneCall(context, call);
    }
  },
};

async function runOneCall(context: NodeContext, call: ToolCallState): Promise<void> {
  const { journal, signal } = context;
  const base = { step: call.step, callId: call.callId, tool: call.tool };
  if (call.attempts >= MAX_ATTEMPTS) {
    await journal.commit(
      end(base, {
        code: "interrupted",
        message: `${call.tool} was interrupted ${call.attempts} times and is not retried again`,
      }),
    );
    return;
  }
  // Decided again on every attempt: a call retried after a crash meets today's policies and kill switches.
  const { decision, event } = await decideToolCall(context, call);
  if (isPause(signal)) return;
  switch (decision.decision) {
    case "deny": {
      const error = { code: "denied", message: `denied: ${decision.reasons.join("; ")}` };
      if (decision.code === "killed") {
        await journal.commit(
          event,
          end(base, error),
          killedEnd(journal.state.step, decision.reasons.join("; ")),
        );
      } else {
        await journal.commit(event, end(base, error));
      }
      return;
    }
    case "review":
      await journal.commit(
        event,
        ...requestApproval(context, {
          kind: "tool-call",
          call,
          reasons: decision.reasons,
          policies: decision.policies,
        }),
      );
      return;
    case "allow":
      // Draft-and-review: an outbound tool the spec lists as a draft waits for a person to edit and send it.
      if (isDraft(context, call)) {
        decision.inFlight?.end();
        await journal.commit(
          event,
          ...requestApproval(context, {
            kind: "draft",
            call,
            reasons: [`${call.tool} is sent only after a person reviews the draft`],
            policies: ["approvals.drafts"],
          }),
        );
        return;
      }
      break;
    default: {
      const unreachable: never = decision;
      throw new Error(`unknown decision ${JSON.stringify(unreachable)}`);
    }
  }
  const inFlight: InFlightAction = decision.inFlight ?? {
    signal: new AbortController().signal,
    end: () => {},
  };
  try {
    const refused =
      decision.capability === undefined ? null : await checkCapability(context, call, decision.capability);
    if (refused) {
      await journal.commit(
        {
          type: "policy-decision",
          payload: {
            ...event.payload,
            decision: "deny",
            code: "capability_invalid",
            stage: "capability",
            reasons: [refused],
          },
        },
        end(base, { code: "denied", message: `denied: ${refused}` }),
      );
      return;
    }
    await startAndRun(context, call, base, event, inFlight, decision.capability);
  } finally {
    inFlight.end();
  }
}

/**
 * The tool's side of the token: an in-process tool is handed only a token that verifies for exactly this call
 * (signature, expiry, run, call, tool, argument hash, revocation). Returns why it does not, or null.
 */
async function checkCapability(
  context: NodeContext,
  call: ToolCallState,
  token: string,
): Promise<string | null> {
  try {
    const check = await context.governor!.verifyCapability(token, {
      runId: context.journal.state.runId,
      tool: call.tool,
      callId: call.callId,
      argumentsHash: call.argumentsHash,
      agent: `${context.agent.name}@${context.agent.version}`,
    });
    return check.ok ? null : `the capability token was refused: ${check.reason}`;
  } catch (error) {
    return `the capability token could not be verified: ${error instanceof Error ? error.message : String(error)}`;
  }
}

async function startAndRun(
  { agent, journal, signal }: NodeContext,
  call: ToolCallState,
  base: { step: number; callId: string; tool: string },
  decided: NewEvent,
  inFlight: InFlightAction,
  capability: string | undefined,
): Promise<void> {
  const tool = agent.tools.get(call.tool);
  if (!tool) {
    const known = [...agent.tools.keys()].join(", ");
    await journal.commit(
      decided,
      end(base, { code: "unknown_tool", message: `no tool named "${call.tool}"; this agent has: ${known}` }),
    );
    return;
  }
  const idempotencyKey = call.idempotencyKey ?? `${journal.state.runId}:${call.callId}`;
  await journal.commit(decided, {
    type: "tool-call-start",
    payload: { ...base, idempotencyKey, attempt: call.attempts + 1 },
  });
  // The last check before the tool starts, with no await in between: a kill acknowledged before this line is seen.
  if (inFlight.signal.aborted) {
    const message = reasonText(inFlight.signal.reason);
    await journal.commit(end(base, { code: "killed", message }), killedEnd(journal.state.step, message));
    return;
  }
  const started = performance.now();
  const outcome = await executeToolCall({
    tool,
    arguments: maskOutboundArguments(tool, call.arguments, journal.redactionClasses.output),
    context: {
      runId: journal.state.runId,
      callId: call.callId,
      idempotencyKey,
      ...(capability === undefined ? {} : { capability }),
      traceparent: toolCallTraceParent({
        runId: journal.state.runId,
        traceparent: journal.state.traceparent,
        callId: call.callId,
      }),
    },
    signal: AbortSignal.any([signal, inFlight.signal]),
    timeoutMs: agent.limits.toolTimeout,
  });
  // On shutdown or a lost lease the call stays open: whoever resumes the run retries it with the same key.
  if (isPause(signal)) return;
  const durationMs = performance.now() - started;
  if (inFlight.signal.aborted && outcome.outcome === "error") {
    const message = reasonText(inFlight.signal.reason);
    await journal.commit(
      end(base, { code: "killed", message }, durationMs),
      killedEnd(journal.state.step, message),
    );
    return;
  }
  if (outcome.outcome === "error") {
    await journal.commit(end(base, outcome.error, durationMs));
    return;
  }
  // The result and the guard's verdict on it are journaled in one commit, before the model can read either; the
  // result is staged first so an approval request made for it shows the reviewer what the tool returned.
  journal.stage({
    type: "tool-call-end",
    payload: {
      ...base,
      outcome: "ok",
      result: outcome.result,
      durationMs,
      dataClasses: [...(tool.dataClasses && tool.dataClasses.length > 0 ? tool.dataClasses : ["internal"])],
    },
  });
  await journal.commit(...guardToolResult({ agent, journal, signal }, call, outcome.result));
}

/** A draft tool's call not yet approved by a person for exactly these arguments. */
function isDraft(context: NodeContext, call: ToolCallState): boolean {
  return (
    (context.agent.approvals?.drafts.includes(call.tool) ?? false) &&
    approvalFor(context.journal.state.approvals, call) === undefined
  );
}

function end(
  base: { step: number; callId: string; tool: string },
  error: ErrorInfo,
  durationMs = 0,
): Extract<NewEvent, { type: "tool-call-end" }> {
  return { type: "tool-call-end", payload: { ...base, outcome: "error", error, durationMs } };
}

/** A kill switch ends the run: nothing more is decided for it. */
function killedEnd(steps: number, message: string): NewEvent {
  return { type: "run-end", payload: { status: "cancelled", error: { code: "killed", message }, steps } };
}

function reasonText(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
