import { executeToolCall } from "../tools/execute-tool-call.ts";
import type { GraphNode, NodeContext } from "./graph.ts";
import { isPause } from "./run-interrupt.ts";
import type { ToolCallState } from "./run-state.ts";

/** A call started this many times without a recorded end is not started again. */
const MAX_ATTEMPTS = 2;

/**
 * The tool node: runs the calls the latest model turn proposed, in order. Each call's start is durable
 * before the tool runs and its end before the run moves on, so a crash re-runs at most the one call that
 * was in flight, once, with the same idempotency key.
 */
export const executeToolCalls: GraphNode = {
  name: "tools",
  async run(context: NodeContext): Promise<void> {
    for (const call of context.journal.state.toolCalls.filter((candidate) => !candidate.ended)) {
      if (context.signal.aborted) return;
      await runOneCall(context, call);
    }
  },
};

async function runOneCall({ agent, journal, signal }: NodeContext, call: ToolCallState): Promise<void> {
  const base = { step: call.step, callId: call.callId, tool: call.tool };
  const tool = agent.tools.get(call.tool);
  if (!tool) {
    const known = [...agent.tools.keys()].join(", ");
    await journal.commit({
      type: "tool-call-end",
      payload: {
        ...base,
        outcome: "error",
        error: { code: "unknown_tool", message: `no tool named "${call.tool}"; this agent has: ${known}` },
        durationMs: 0,
      },
    });
    return;
  }
  if (call.attempts >= MAX_ATTEMPTS) {
    await journal.commit({
      type: "tool-call-end",
      payload: {
        ...base,
        outcome: "error",
        error: {
          code: "interrupted",
          message: `${call.tool} was interrupted ${call.attempts} times and is not retried again`,
        },
        durationMs: 0,
      },
    });
    return;
  }
  const idempotencyKey = call.idempotencyKey ?? `${journal.state.runId}:${call.callId}`;
  await journal.commit({
    type: "tool-call-start",
    payload: { ...base, idempotencyKey, attempt: call.attempts + 1 },
  });
  const started = performance.now();
  const outcome = await executeToolCall({
    tool,
    arguments: call.arguments,
    context: { runId: journal.state.runId, callId: call.callId, idempotencyKey },
    signal,
    timeoutMs: agent.limits.toolTimeout,
  });
  // On shutdown or a lost lease the call stays open: whoever resumes the run retries it with the same key.
  if (isPause(signal)) return;
  const durationMs = performance.now() - started;
  await journal.commit({
    type: "tool-call-end",
    payload:
      outcome.outcome === "ok"
        ? { ...base, outcome: "ok", result: outcome.result, durationMs }
        : { ...base, outcome: "error", error: outcome.error, durationMs },
  });
}
