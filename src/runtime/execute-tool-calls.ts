import type { InFlightAction } from "../governance/index.ts";
import type { ErrorInfo, NewEvent } from "../journal/index.ts";
import { toolCallTraceParent } from "../journal/index.ts";
import type { Tool } from "../tools/index.ts";
import { executeToolCall, type ReconcileOutcome, reconcileToolCall } from "../tools/index.ts";
import { decideToolCall, type ToolCallDecision } from "./decide-tool-call.ts";
import type { GraphNode, NodeContext } from "./graph.ts";
import { guardToolResult, inspectToolResult } from "./guard-tool-result.ts";
import { maskOutboundArguments } from "./mask-outbound-arguments.ts";
import { approvalFor, requestApproval } from "./request-approval.ts";
import { isPause } from "./run-interrupt.ts";
import type { ToolCallState } from "./run-state.ts";
import { answerShadowedCall, isShadowedCall } from "./shadow-tool-call.ts";

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

/**
 * Run the proposed calls of one wave together — a fan-out's tool branches — with the journal's invariants kept:
 * each call is decided by the governor first; the calls it allows outright have their decisions and durable starts
 * written in one commit, run at once, and each end journaled as it comes (the store groups ends that arrive
 * together into one commit); a call held for a person, denied, or needing a capability check is then handled alone,
 * as `executeToolCalls` would. A call resumed after a crash (started before, never ended) takes the one-call path,
 * which settles what its first attempt did before anything else.
 */
export async function executeToolCallWave(context: NodeContext, callIds: readonly string[]): Promise<void> {
  const { journal, signal } = context;
  const wanted = new Set(callIds);
  const calls = journal.state.toolCalls.filter((call) => !call.ended && wanted.has(call.callId));
  // A shadow run's side-effecting calls take the one-call path, which answers them without executing them.
  const fresh = calls.filter(
    (call) => call.attempts === 0 && context.agent.tools.has(call.tool) && !isShadowedCall(context, call),
  );
  for (const call of calls) {
    if (fresh.includes(call)) continue;
    if (signal.aborted || journal.state.status !== "running") return;
    await runOneCall(context, call);
  }
  if (fresh.length === 0 || signal.aborted || journal.state.status !== "running") return;
  const decided = await Promise.all(
    fresh.map(async (call) => ({
      call,
      base: { step: call.step, callId: call.callId, tool: call.tool },
      ...(await decideToolCall(context, call)),
    })),
  );
  // Allowed outright (no draft to review): their capability tokens are checked at once, as the one-call path does.
  const allowed = await Promise.all(
    decided.map(async (entry) => {
      const { call, decision } = entry;
      if (decision.decision !== "allow" || isDraft(context, call)) return null;
      const capability = decision.capability;
      const refused = capability === undefined ? null : await checkCapability(context, call, capability);
      return { entry, capability, refused };
    }),
  );
  const plain = allowed.flatMap((each) => (each && each.refused === null ? [each.entry] : []));
  const refusals = allowed.flatMap((each) => (each && each.refused !== null ? [each] : []));
  const capabilities = new Map(
    allowed.flatMap((each) => (each ? [[each.entry, each.capability] as const] : [])),
  );
  // Each allowed decision holds an in-flight action open until its call ends; one never acted on is closed below.
  const acted = new Set<(typeof decided)[number]>();
  try {
    if (isPause(signal)) return;
    if (plain.length > 0) {
      const starts = plain.map((entry) => ({ ...entry, start: startEvent(context, entry.call, entry.base) }));
      for (const { entry } of refusals) {
        acted.add(entry);
        // Refused at the token: the call never runs, so its action closes now.
        if (entry.decision.decision === "allow") entry.decision.inFlight?.end();
      }
      await journal.commit(
        ...refusals.flatMap(({ entry, refused }) => capabilityRefused(entry.event, entry.base, refused!)),
        ...starts.flatMap(({ event, start }) => [event, start.event]),
      );
      // Acted on once their starts are durable: a refused commit (a cancel fence) leaves them to be closed below.
      for (const entry of plain) acted.add(entry);
      await Promise.all(
        starts.map(async (entry) => {
          const { call, base, decision, start } = entry;
          const inFlight: InFlightAction = (decision.decision === "allow" && decision.inFlight) || {
            signal: new AbortController().signal,
            end: () => {},
          };
          try {
            const tool = context.agent.tools.get(call.tool)!;
            const capability = capabilities.get(plain.find((each) => each.call === call)!);
            await runStarted(context, call, base, tool, inFlight, capability, start.idempotencyKey);
          } finally {
            inFlight.end();
          }
        }),
      );
    }
    for (const entry of decided) {
      if (acted.has(entry)) continue;
      if (signal.aborted || journal.state.status !== "running") return;
      acted.add(entry);
      await actOnDecision(context, entry.call, entry.base, entry.decision, entry.event, null);
    }
  } finally {
    for (const entry of decided) {
      if (!acted.has(entry) && entry.decision.decision === "allow") entry.decision.inFlight?.end();
    }
  }
}

async function runOneCall(context: NodeContext, call: ToolCallState): Promise<void> {
  const { journal, signal } = context;
  const base = { step: call.step, callId: call.callId, tool: call.tool };
  const tool = context.agent.tools.get(call.tool);
  // Started and never ended: the worker died mid-call. What happened is settled before anything is decided again.
  const earlier = call.attempts > 0 && tool?.sideEffect ? await reconcile(context, call, tool) : null;
  if (isPause(signal)) return;
  if (earlier?.status === "applied") {
    await finishReconciled(context, call, base, tool!, earlier.result);
    return;
  }
  // Retrying or refusing a call whose effect may have happened must not be reported as if it had not.
  const doubt = earlier?.status === "unknown" ? earlier.why : null;
  if (call.attempts >= MAX_ATTEMPTS) {
    const why = `it was interrupted ${call.attempts} times and is not started again`;
    if (doubt !== null) {
      await endInDoubt(context, base, why, doubt, { killed: false });
      return;
    }
    const checked = earlier ? " (its reconcile hook found that it had not been applied)" : "";
    await journal.commit(
      end(base, {
        code: "interrupted",
        message: `${call.tool} was interrupted ${call.attempts} times and is not retried again${checked}`,
      }),
    );
    return;
  }
  // Decided again on every attempt: a call retried after a crash meets today's policies and kill switches, but its
  // rate limits were taken when it first started (decideToolCall marks it a retry).
  const shadowed = isShadowedCall(context, call);
  const { decision, event } = await decideToolCall(context, call, { shadowed });
  if (isPause(signal)) return;
  if (shadowed && decision.decision !== "deny") {
    // A shadow run executes no side effect and asks nobody: what a person would have been asked is journaled.
    const review =
      decision.decision === "review"
        ? { kind: "tool-call" as const, reasons: decision.reasons, policies: decision.policies }
        : isDraft(context, call)
          ? { kind: "draft" as const, reasons: [draftReason(call)], policies: ["approvals.drafts"] }
          : null;
    await answerShadowedCall(context, call, event, review);
    return;
  }
  await actOnDecision(context, call, base, decision, event, doubt);
}

/** What a decided call does: end denied, wait for a person, or start and run (see `startAndRun`). */
async function actOnDecision(
  context: NodeContext,
  call: ToolCallState,
  base: { step: number; callId: string; tool: string },
  decision: ToolCallDecision["decision"],
  event: ToolCallDecision["event"],
  doubt: string | null,
): Promise<void> {
  const { journal } = context;
  if (doubt !== null && decision.decision !== "allow") {
    const killed = decision.decision === "deny" && decision.code === "killed";
    const because = killed
      ? decision.reasons.join("; ")
      : `the governor now answers ${decision.decision}: ${decision.reasons.join("; ")}`;
    await endInDoubt(context, base, because, doubt, { decided: event, killed });
    return;
  }
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
            reasons: [draftReason(call)],
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
      await journal.commit(...capabilityRefused(event, base, refused));
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
/** A call whose capability token was refused: the decision journaled as that denial, and the call's end. */
function capabilityRefused(
  event: ToolCallDecision["event"],
  base: { step: number; callId: string; tool: string },
  refused: string,
): NewEvent[] {
  return [
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
  ];
}

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
  context: NodeContext,
  call: ToolCallState,
  base: { step: number; callId: string; tool: string },
  decided: NewEvent,
  inFlight: InFlightAction,
  capability: string | undefined,
): Promise<void> {
  const { agent, journal } = context;
  const tool = agent.tools.get(call.tool);
  if (!tool) {
    const known = [...agent.tools.keys()].join(", ");
    await journal.commit(
      decided,
      end(base, { code: "unknown_tool", message: `no tool named "${call.tool}"; this agent has: ${known}` }),
    );
    return;
  }
  const start = startEvent(context, call, base);
  // A read-only call changes nothing outside Keel, so its start need not be durable before it runs: it rides on the
  // commit of its end, and the step costs one commit. A crash meanwhile loses the whole step (model turn included),
  // which the resumed run takes again; nothing it did can have taken effect, and its result reached no model.
  if (!tool.sideEffect && journal.mayDeferStarts) journal.stage(decided, start.event);
  else await journal.commit(decided, start.event);
  await runStarted(context, call, base, tool, inFlight, capability, start.idempotencyKey);
}

/** The durable start of a call's next attempt, and the idempotency key it runs under. */
function startEvent(
  context: NodeContext,
  call: ToolCallState,
  base: { step: number; callId: string; tool: string },
): { event: NewEvent; idempotencyKey: string } {
  const idempotencyKey = call.idempotencyKey ?? `${context.journal.state.runId}:${call.callId}`;
  return {
    event: { type: "tool-call-start", payload: { ...base, idempotencyKey, attempt: call.attempts + 1 } },
    idempotencyKey,
  };
}

/** Run a call whose start is durable, and journal how it ended (with the guard's verdict on its result). */
async function runStarted(
  context: NodeContext,
  call: ToolCallState,
  base: { step: number; callId: string; tool: string },
  tool: Tool,
  inFlight: InFlightAction,
  capability: string | undefined,
  idempotencyKey: string,
): Promise<void> {
  const { agent, journal, signal } = context;
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
    signal,
    stopSignal: inFlight.signal,
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
  if (outcome.outcome === "error" && outcome.error.code === "tool_timeout" && tool.sideEffect) {
    // Timed out is not "did not happen": the tool may have applied its effect after Keel stopped waiting.
    const found = await reconcile(context, call, tool);
    if (isPause(signal)) return;
    if (found.status === "applied") {
      await finishReconciled(context, call, base, tool, found.result, durationMs);
      return;
    }
    if (found.status === "unknown") {
      await endInDoubt(context, base, outcome.error.message, found.why, {
        killed: false,
        durationMs,
      });
      return;
    }
  }
  if (outcome.outcome === "error") {
    await journal.commit(end(base, outcome.error, durationMs));
    return;
  }
  // The result and the guard's verdict on it are journaled in one commit, before the model can read either; the
  // result is staged first so an approval request made for it shows the reviewer what the tool returned.
  const finding = await inspectToolResult(context, call, outcome.result);
  journal.stage({
    type: "tool-call-end",
    payload: {
      ...base,
      outcome: "ok",
      result: outcome.result,
      durationMs,
      dataClasses: classesOf(tool),
    },
  });
  await journal.commit(...guardToolResult(context, call, finding));
}

function draftReason(call: ToolCallState): string {
  return `${call.tool} is sent only after a person reviews the draft`;
}

/** A draft tool's call not yet approved by a person for exactly these arguments. */
function isDraft(context: NodeContext, call: ToolCallState): boolean {
  return (
    (context.agent.approvals?.drafts.includes(call.tool) ?? false) &&
    approvalFor(context.journal.state.approvals, call) === undefined
  );
}

/** Ask a side-effecting tool's `reconcile` hook whether the attempt in doubt applied its effect. */
async function reconcile(context: NodeContext, call: ToolCallState, tool: Tool): Promise<ReconcileOutcome> {
  return await reconcileToolCall({
    tool,
    // Exactly what `execute` was given, so the hook can match what the attempt wrote.
    arguments: maskOutboundArguments(tool, call.arguments, context.journal.redactionClasses.output),
    context: {
      runId: context.journal.state.runId,
      callId: call.callId,
      idempotencyKey: call.idempotencyKey ?? `${context.journal.state.runId}:${call.callId}`,
    },
    signal: context.signal,
    timeoutMs: context.agent.limits.toolTimeout,
  });
}

/** The effect happened: journal the result the hook found, as if the attempt had returned it. */
async function finishReconciled(
  context: NodeContext,
  call: ToolCallState,
  base: { step: number; callId: string; tool: string },
  tool: Tool,
  result: unknown,
  durationMs = 0,
): Promise<void> {
  const finding = await inspectToolResult(context, call, result);
  context.journal.stage({
    type: "tool-call-end",
    payload: { ...base, outcome: "ok", result, durationMs, dataClasses: classesOf(tool), reconciled: true },
  });
  await context.journal.commit(...guardToolResult(context, call, finding));
}

/**
 * Nobody can tell whether the call applied its effect, and it will not be tried again: its end says exactly that
 * (never "denied", never "failed"), the model sees it, and a person is asked to check — unless a kill switch ended
 * the run, whose end then names the call in doubt.
 */
async function endInDoubt(
  context: NodeContext,
  base: { step: number; callId: string; tool: string },
  because: string,
  doubt: string,
  options: { decided?: NewEvent; killed: boolean; durationMs?: number },
): Promise<void> {
  const { journal } = context;
  const message =
    `${base.tool} started, but whether it took effect is unknown (${doubt}); ` +
    `not retried because ${because}. A person will check.`;
  const inDoubt = end(base, { code: "in_doubt", message }, options.durationMs);
  const decided = options.decided ? [options.decided] : [];
  if (options.killed) {
    await journal.commit(...decided, inDoubt, killedEnd(journal.state.step, message));
    return;
  }
  journal.stage(...decided, inDoubt);
  await journal.commit(
    ...requestApproval(context, {
      kind: "handoff",
      reasons: [`${message} Check whether call ${base.callId} happened before answering.`],
      policies: ["runtime.in-doubt"],
    }),
  );
}

function classesOf(tool: Tool): string[] {
  return [...(tool.dataClasses && tool.dataClasses.length > 0 ? tool.dataClasses : ["internal"])];
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
