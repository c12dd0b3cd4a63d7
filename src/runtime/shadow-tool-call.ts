import type { ErrorInfo, JournalEvent, PayloadOf } from "../journal/index.ts";
import { executeToolCall, type Tool } from "../tools/index.ts";
import type { ToolCallDecision } from "./decide-tool-call.ts";
import type { NodeContext } from "./graph.ts";
import { guardToolResult, inspectToolResult } from "./guard-tool-result.ts";
import { maskOutboundArguments } from "./mask-outbound-arguments.ts";
import type { ToolCallState } from "./run-state.ts";
import { shadowResultFor } from "./shadow-settings.ts";

/** A call this run must not execute: the run is a shadow run and the tool changes the world. */
export function isShadowedCall(context: NodeContext, call: ToolCallState): boolean {
  return context.journal.state.shadowOf !== null && context.agent.tools.get(call.tool)?.sideEffect === true;
}

/** What a person would have been asked about the call, had the run been live. */
export type WouldBeReview = NonNullable<NonNullable<PayloadOf<"tool-call-end">["shadowed"]>["review"]>;

/**
 * Answer a shadow run's side-effecting call without executing it (the governor allowed it, or would have held it
 * for a person, who is not asked): its policy decision and a `tool-call-end` that says it was shadowed and what
 * answered it, in one commit. No `tool-call-start` is journaled, so the journal plainly holds no attempt. The answer
 * goes through the result guard like any result, so the candidate's guard findings compare with the live run's.
 */
export async function answerShadowedCall(
  context: NodeContext,
  call: ToolCallState,
  decided: ToolCallDecision["event"],
  review: WouldBeReview | null,
): Promise<void> {
  const { journal } = context;
  const base = { step: call.step, callId: call.callId, tool: call.tool };
  const tool = context.agent.tools.get(call.tool)!;
  const answer = await shadowAnswer(context, call, tool);
  const shadowed = { ...answer.shadowed, ...(review ? { review } : {}) };
  if (answer.outcome === "error") {
    await journal.commit(decided, {
      type: "tool-call-end",
      payload: { ...base, outcome: "error", error: answer.error, durationMs: answer.durationMs, shadowed },
    });
    return;
  }
  // As for a live call: the result is inspected before it is staged, and journaled with the verdict in one commit.
  const finding = await inspectToolResult(context, call, answer.result);
  journal.stage(decided, {
    type: "tool-call-end",
    payload: {
      ...base,
      outcome: "ok",
      result: answer.result,
      durationMs: answer.durationMs,
      dataClasses: [...(tool.dataClasses && tool.dataClasses.length > 0 ? tool.dataClasses : ["internal"])],
      shadowed,
    },
  });
  await journal.commit(...guardToolResult(context, call, finding));
}

type ShadowAnswer = { shadowed: NonNullable<PayloadOf<"tool-call-end">["shadowed"]>; durationMs: number } & (
  | { outcome: "ok"; result: unknown }
  | { outcome: "error"; error: ErrorInfo }
);

async function shadowAnswer(context: NodeContext, call: ToolCallState, tool: Tool): Promise<ShadowAnswer> {
  const setting = shadowResultFor(context.agent.rollout?.shadow, call.tool);
  if (setting === "live") {
    const live = await liveEndOf(context, call);
    if (live) {
      const shadowed = { answer: "live" as const, live: { runId: live.runId, callId: live.payload.callId } };
      return live.payload.outcome === "ok"
        ? { outcome: "ok", result: live.payload.result, durationMs: 0, shadowed }
        : {
            outcome: "error",
            error: live.payload.error ?? {
              code: "tool_error",
              message: `${call.tool} failed in the live run`,
            },
            durationMs: 0,
            shadowed,
          };
    }
    return notExecuted(call, `the live run made no ${call.tool} call with these arguments`);
  }
  if (setting === "dry-run") {
    if (!tool.dryRun) return notExecuted(call, `${call.tool} has no dry-run hook`);
    return await dryRun(context, call, tool);
  }
  return { outcome: "ok", result: setting.stub, durationMs: 0, shadowed: { answer: "stub" } };
}

/** The tool's `dryRun` hook, validated and time-limited as a call is. */
async function dryRun(context: NodeContext, call: ToolCallState, tool: Tool): Promise<ShadowAnswer> {
  const { journal } = context;
  const hook = tool.dryRun!.bind(tool);
  const started = performance.now();
  const outcome = await executeToolCall({
    tool: { ...tool, execute: (input, run) => hook(input, run) },
    arguments: maskOutboundArguments(tool, call.arguments, journal.redactionClasses.output),
    context: {
      runId: journal.state.runId,
      callId: call.callId,
      idempotencyKey: `${journal.state.runId}:${call.callId}:dry-run`,
    },
    signal: context.signal,
    timeoutMs: context.agent.limits.toolTimeout,
  });
  const durationMs = performance.now() - started;
  const shadowed = { answer: "dry-run" as const };
  return outcome.outcome === "ok"
    ? { outcome: "ok", result: outcome.result, durationMs, shadowed }
    : { outcome: "error", error: outcome.error, durationMs, shadowed };
}

function notExecuted(call: ToolCallState, why: string): ShadowAnswer {
  return {
    outcome: "error",
    error: {
      code: "shadowed",
      message: `${call.tool} was not executed: this is a shadow run, which makes no side effects, and ${why}`,
    },
    durationMs: 0,
    shadowed: { answer: "not-executed" },
  };
}

/**
 * The live run's end of the same call — the same tool with the same canonical arguments (their hash) as the live
 * call ended with, after an approver's edit — read from its journal as it stands now. A call the live run has not ended yet is not
 * waited for: the shadow goes on with what it can say.
 */
async function liveEndOf(
  context: NodeContext,
  call: ToolCallState,
): Promise<Extract<JournalEvent, { type: "tool-call-end" }> | null> {
  const liveRunId = context.journal.state.shadowOf;
  if (liveRunId === null || !context.liveJournal) return null;
  const events = await context.liveJournal(liveRunId);
  // Each live call by the arguments it ran with: a person's edit replaces the ones first proposed.
  const ranWith = new Map<string, { tool: string; argumentsHash: string }>();
  for (const event of events) {
    if (event.type === "tool-call-propose") ranWith.set(event.payload.callId, event.payload);
  }
  for (const event of events) {
    if (event.type !== "tool-call-end") continue;
    const ran = ranWith.get(event.payload.callId);
    if (ran?.tool === call.tool && ran.argumentsHash === call.argumentsHash) return event;
  }
  return null;
}
