import type { ActionRequest, PolicyDecision } from "../governance/index.ts";
import { type BudgetAlert, type BudgetLimits, budgetCounters, describeRefusal } from "../governance/index.ts";
import type { ModelCallPhase, NewEvent, PayloadOf } from "../journal/index.ts";
import { hashPayload } from "../journal/index.ts";
import type { GenerateOptions, ModelProvider, ModelTurn, RouteDecision } from "../models/index.ts";
import {
  classifyModelError,
  estimateInputTokens,
  type GatewayCall,
  type GatewayResult,
  isRoutedModelProvider,
} from "../models/index.ts";
import { toolInputJsonSchema } from "../tools/index.ts";
import { servedFromStream, turnFromStream } from "./consume-model-stream.ts";
import { policyDecisionPayload } from "./decide-tool-call.ts";
import { endWithStructuredAnswer } from "./end-with-structured-answer.ts";
import { sessionSystemPrompt } from "./fit-session-thread.ts";
import type { GraphNode, NodeContext } from "./graph.ts";
import { handOff, lowConfidenceReason } from "./hand-off.ts";
import type { LiveTextWriter } from "./live-text.ts";
import { isPause } from "./run-interrupt.ts";
import type { RunState } from "./run-state.ts";

/** Output allowance assumed for a budget hold when the spec sets no maxOutputTokens. */
const DEFAULT_OUTPUT_ALLOWANCE = 4_096;

/**
 * The model node: one model turn. It routes the call, reserves its budget, asks the governor, calls the model
 * through the gateway, settles the budget, and journals the decision (and the tool calls it proposes, or the
 * final answer) before anything acts on it.
 */
export const callModel: GraphNode = {
  name: "model",
  async run(context: NodeContext): Promise<void> {
    const { agent, journal } = context;
    const state = journal.state;
    if (!state.modelCallOpen && state.step >= state.maxSteps) {
      await journal.commit({
        type: "run-end",
        payload: {
          status: "failed",
          error: {
            code: "max_steps_exceeded",
            message: `the agent used all ${state.maxSteps} steps without answering`,
          },
          steps: state.step,
        },
      });
      return;
    }
    const step = state.modelCallOpen ? state.step : state.step + 1;
    const served = await governedModelCall(context, {
      step,
      phase: phaseOf(state),
      request: buildRequest(context),
      provider: agent.provider,
      callKey: `step-${step}`,
      validate: validatorFor(context),
      ...(context.live ? { live: context.live } : {}),
      start: state.modelCallOpen ? [] : [{ type: "step-start", payload: { step, node: "model" } }],
    });
    if (served.kind === "ended") return;
    const { turn, events } = served;
    if (turn.decision.kind === "answer") {
      // An answer the model itself is unsure of goes to a person before it reaches the user.
      const unsure = lowConfidenceReason(turn.decision.text, agent.approvals?.escalateWhen);
      if (unsure !== null) {
        await journal.commit(...events);
        await handOff(context, unsure);
        return;
      }
      if (agent.output) {
        await endWithStructuredAnswer(context, {
          text: turn.decision.text,
          step,
          events,
          output: agent.output,
        });
        return;
      }
      events.push({
        type: "run-end",
        payload: { status: "completed", answer: turn.decision.text, steps: step },
      });
      await journal.commit(...events);
      return;
    }
    for (const proposed of turn.decision.calls) {
      events.push({
        type: "tool-call-propose",
        payload: {
          step,
          callId: proposed.callId,
          tool: proposed.tool,
          arguments: proposed.arguments,
          argumentsHash: hashPayload(proposed.arguments),
        },
      });
    }
    // The proposals need not be durable on their own: the tool node's first commit carries them.
    journal.stage(...events);
  },
};

/** What a governed model call came to: the model's turn with the events that record it, or the run already ended. */
export type GovernedModelCall = { kind: "served"; turn: ModelTurn; events: NewEvent[] } | { kind: "ended" };

/**
 * One model call as every model call is made: routed through the gateway, its budget held, the governor asked,
 * the model called, the budget settled and the call recorded in the cost ledger. `start` (with the call's
 * `model-call-start`) is staged first unless the call is being asked again after a crash. A refusal, a failure or
 * an interruption is journaled here (ending the run, or leaving it to be resumed) and comes back as `ended`; a
 * served call comes back with its `model-call-end` and settlement events for the caller to journal with what it
 * decides, so the decision and its record are durable together. `callKey` names the call within the run (its
 * budget hold and its cost-ledger row): one key per call.
 */
export async function governedModelCall(
  context: NodeContext,
  options: {
    step: number;
    phase: ModelCallPhase;
    request: GenerateOptions;
    provider: ModelProvider;
    callKey: string;
    start: NewEvent[];
    validate?: (turn: ModelTurn) => string | null;
    /** Stream the turn, handing its text to live listeners as it is written (only the whole turn is journaled). */
    live?: LiveTextWriter;
  },
): Promise<GovernedModelCall> {
  const { agent, journal } = context;
  const state = journal.state;
  const { step, phase, request, provider } = options;
  const call: GatewayCall | null = isRoutedModelProvider(provider)
    ? {
        request,
        policy: provider.policy,
        agent: agent.name,
        tenant: state.principal.tenant,
        phase,
        ...(options.validate ? { validate: options.validate } : {}),
      }
    : null;
  const route = call && isRoutedModelProvider(provider) ? provider.gateway.route(call) : null;
  const target = route?.tiers[0]?.[0];
  const base = {
    step,
    provider: target?.provider ?? provider.provider,
    model: target?.model ?? provider.model,
  };
  if (!state.modelCallOpen) {
    journal.stage(...options.start, {
      type: "model-call-start",
      payload: {
        ...base,
        offline: provider.offline,
        phase,
        routing: route
          ? { reason: route.reason, ...(route.rule ? { rule: route.rule } : {}) }
          : { reason: "offline stand-in" },
      },
    });
  }

  const reservation = await reserveBudget(context, {
    step,
    callKey: options.callKey,
    call,
    route,
    request,
    provider,
  });
  if (reservation.refused) return { kind: "ended" };
  if (!(await allowedByGovernor(context, base))) {
    await reservation.release();
    return { kind: "ended" };
  }

  const started = performance.now();
  let served: Pick<
    GatewayResult,
    "turn" | "cost" | "attempts" | "responseCache" | "escalations" | "provider" | "model"
  >;
  const live = options.live;
  live?.begin(step);
  try {
    if (call && route && isRoutedModelProvider(provider)) {
      served = live
        ? await servedFromStream(provider.gateway.stream(call, route), (text) => live.delta(step, text))
        : await provider.gateway.generate(call, route);
    } else if (live?.listening && provider.stream) {
      // An offline stand-in answers at once: its turn is split into deltas only for someone watching.
      const turn = await turnFromStream(provider.stream(request), (text) => live.delta(step, text));
      served = { turn, ...offlineResult(provider.provider, provider.model) };
    } else {
      const turn = await provider.generate(request);
      served = { turn, ...offlineResult(provider.provider, provider.model) };
    }
  } catch (error) {
    live?.end(step);
    // Offline stand-ins report their own failures as they are; gateway failures carry a class and attempts.
    const classified = call ? classifyModelError(error) : null;
    if (isPause(context.signal)) {
      // The next holder of the run makes this call again under the same hold.
      await reservation.release();
      return { kind: "ended" };
    }
    // A stream cut after its first token was paid for: its estimated cost settles the hold instead of freeing it.
    const partial = classified?.partial;
    let settled: NewEvent[] = [];
    if (partial) {
      settled = await reservation.settle(
        partial.cost.usd,
        partial.usage.inputTokens + partial.usage.outputTokens,
        partial.cost.priceTableVersion,
      );
    } else {
      await reservation.release();
    }
    if (context.signal.aborted) {
      await journal.commit(...settled);
      return { kind: "ended" };
    }
    const info = classified
      ? { code: classified.code, message: classified.message }
      : { code: "model_failed", message: error instanceof Error ? error.message : String(error) };
    await journal.commit(
      {
        type: "model-call-end",
        payload: {
          ...base,
          ...(partial ? { provider: partial.provider, model: partial.model } : {}),
          outcome: "error",
          error: info,
          durationMs: performance.now() - started,
          phase,
          ...(classified && classified.attempts.length > 0 ? { attempts: classified.attempts } : {}),
          ...(partial
            ? { usage: partial.usage, cost: partial.cost, usageEstimated: true, streamedText: partial.text }
            : {}),
        },
      },
      ...settled,
      { type: "run-end", payload: { status: "failed", error: info, steps: step } },
    );
    await recordCall(context, {
      callKey: options.callKey,
      phase,
      route,
      outcome: "error",
      errorClass: classified?.errorClass ?? "model_failed",
      ...(partial
        ? {
            served: {
              turn: { decision: { kind: "answer", text: partial.text }, usage: partial.usage },
              cost: partial.cost,
              attempts: classified?.attempts ?? [],
              responseCache: "bypass",
              provider: partial.provider,
              model: partial.model,
            },
          }
        : {}),
      base,
      durationMs: performance.now() - started,
    });
    return { kind: "ended" };
  }
  live?.end(step);
  const durationMs = performance.now() - started;
  const turn = served.turn;
  const events: NewEvent[] = [
    {
      type: "model-call-end",
      payload: {
        step,
        provider: served.provider,
        model: served.model,
        outcome: "ok",
        decision: turn.decision,
        usage: turn.usage,
        durationMs,
        phase,
        cost: served.cost,
        ...(served.attempts.length > 0 ? { attempts: served.attempts } : {}),
        ...(route ? { responseCache: served.responseCache } : {}),
        ...(served.escalations.length > 0 ? { escalations: served.escalations } : {}),
      },
    },
    ...(await reservation.settle(
      served.cost.usd,
      turn.usage.inputTokens + turn.usage.outputTokens,
      served.cost.priceTableVersion,
    )),
  ];
  await recordCall(context, {
    callKey: options.callKey,
    phase,
    route,
    outcome: "ok",
    served,
    base,
    durationMs,
  });
  return { kind: "served", turn, events };
}

/** The run's first turn plans; a turn right after a failed tool call recovers; every other turn executes. */
export function phaseOf(state: RunState): ModelCallPhase {
  // A session's earlier turns lead the messages; the run's own turns come after them.
  const own = state.messages.slice(state.carried?.messages ?? 0);
  if (!own.some((message) => message.role === "assistant")) return "planning";
  const last = own.at(-1);
  return last?.role === "tool" && last.isError ? "error_recovery" : "execution";
}

function buildRequest({ agent, journal, signal }: NodeContext): GenerateOptions {
  return {
    system: withOutputSchema(
      sessionSystemPrompt(agent.system, {
        summary: journal.state.carried?.summary ?? null,
        ...(agent.workingMemory ? { workingMemory: journal.state.workingMemory ?? {} } : {}),
      }),
      agent.output?.schema,
    ),
    messages: journal.state.messages,
    ...(journal.state.carried ? { carriedMessages: journal.state.carried.messages } : {}),
    tools: [...agent.tools.values()].map((tool) => ({
      name: tool.name,
      description: tool.description,
      inputSchema: toolInputJsonSchema(tool),
      sideEffect: tool.sideEffect,
    })),
    params: agent.params,
    signal,
  };
}

/** A cascade tier's tool calls must name the agent's tools with arguments their schemas accept. */
function validatorFor({ agent }: NodeContext): (turn: ModelTurn) => string | null {
  return (turn) => {
    if (turn.decision.kind !== "tool-calls") return null;
    for (const proposed of turn.decision.calls) {
      const tool = agent.tools.get(proposed.tool);
      if (!tool) return `no tool named "${proposed.tool}"`;
      const parsed = tool.input.safeParse(proposed.arguments);
      if (!parsed.success) return `arguments for ${proposed.tool} do not match its schema`;
    }
    return null;
  };
}

type Reservation = {
  refused: boolean;
  release(): Promise<void>;
  settle(usd: number, tokens: number, priceTableVersion: string): Promise<NewEvent[]>;
};

/**
 * Hold the most this call can cost on every budget counter (run, agent's day, tenant's day) before it is made.
 * A refusal journals `budget-exceeded` and ends the run as `budget_exceeded`.
 */
async function reserveBudget(
  context: NodeContext,
  options: {
    step: number;
    callKey: string;
    call: GatewayCall | null;
    route: RouteDecision | null;
    request: GenerateOptions;
    provider: ModelProvider;
  },
): Promise<Reservation> {
  const { agent, journal } = context;
  const state = journal.state;
  const none: Reservation = { refused: false, release: async () => undefined, settle: async () => [] };
  if (!agent.budgets) return none;
  const counters = budgetCounters({
    budgets: agent.budgets.limits,
    runId: state.runId,
    agent: agent.name,
    tenant: state.principal.tenant,
    now: new Date(),
    parentBudgets: state.parentBudgets,
  });
  if (counters.length === 0) return none;
  const { ledger } = agent.budgets;
  const { provider } = options;
  const estimate =
    options.call && options.route && isRoutedModelProvider(provider)
      ? provider.gateway.estimate(options.call, options.route)
      : {
          usd: 0,
          tokens:
            estimateInputTokens(options.request) + (agent.params.maxOutputTokens ?? DEFAULT_OUTPUT_ALLOWANCE),
        };
  const reservationId = `${state.runId}:${options.callKey}`;
  const outcome = await ledger.reserve({
    reservationId,
    counters,
    usd: estimate.usd,
    tokens: estimate.tokens,
  });
  if (!outcome.ok) {
    const message = describeRefusal(outcome.refusal);
    const { refusal } = outcome;
    await journal.commit(
      ...alertEvents(outcome.alerts),
      {
        type: "budget-exceeded",
        payload: {
          scope: refusal.scope,
          period: refusal.period,
          ...(refusal.limitUsd === undefined ? {} : { limitUsd: refusal.limitUsd }),
          ...(refusal.limitTokens === undefined ? {} : { limitTokens: refusal.limitTokens }),
          spentUsd: refusal.spentUsd,
          spentTokens: refusal.spentTokens,
          requestedUsd: refusal.requestedUsd,
          requestedTokens: refusal.requestedTokens,
          message,
        },
      },
      {
        type: "run-end",
        payload: {
          status: "budget_exceeded",
          error: { code: "budget_exceeded", message },
          steps: state.step,
        },
      },
    );
    return { ...none, refused: true };
  }
  journal.stage({
    type: "budget-reserve",
    payload: {
      reservationId,
      step: options.step,
      usd: estimate.usd,
      tokens: estimate.tokens,
      scopes: counters.map((counter) => ({
        scope: counter.scope,
        period: counter.period,
        ...(counter.limitUsd === undefined ? {} : { limitUsd: counter.limitUsd }),
        ...(counter.limitTokens === undefined ? {} : { limitTokens: counter.limitTokens }),
      })),
    },
  });
  return {
    refused: false,
    release: () => ledger.release(reservationId),
    async settle(usd, tokens, priceTableVersion) {
      const { alerts } = await ledger.settle({ reservationId, usd, tokens });
      return [
        { type: "budget-settle", payload: { reservationId, usd, tokens, priceTableVersion } },
        ...alertEvents(alerts),
      ];
    },
  };
}

function alertEvents(alerts: readonly BudgetAlert[]): NewEvent[] {
  return alerts.map((alert) => ({
    type: "budget-alert",
    payload: alert satisfies PayloadOf<"budget-alert">,
  }));
}

/** Model calls pass the governor first (invariant 2): anything but allow ends the run, journaled with its reasons. */
async function allowedByGovernor(
  context: NodeContext,
  base: { step: number; provider: string; model: string },
): Promise<boolean> {
  const { governor, journal, agent, signal } = context;
  const state = journal.state;
  const request: ActionRequest = {
    kind: "model-call",
    runId: state.runId,
    agent: { name: agent.name, version: agent.version },
    ...(state.ancestors.length > 0 ? { ancestors: state.ancestors } : {}),
    principal: state.principal,
    model: { provider: base.provider, id: base.model },
    dataClasses: state.dataClasses,
  };
  let decision: PolicyDecision;
  try {
    if (!governor) throw new Error("no governor is configured, so no action is allowed");
    decision = await governor.decide(request, { signal });
  } catch (error) {
    // Any error inside the governor is a deny (invariant 2).
    const reasons = [`the governor failed: ${String(error)}`];
    decision = { decision: "deny", code: "internal_error", stage: "internal", reasons, policies: [] };
  }
  const action = `model-call:${base.provider}/${base.model}`;
  // Recorded like every decision: the agent, the user it acts for, the policies and the reasons.
  const journaled: NewEvent = {
    type: "policy-decision",
    payload: { ...policyDecisionPayload(request, decision), action },
  };
  if (decision.decision === "allow") {
    journal.stage(journaled);
    return true;
  }
  const message = `the governor did not allow the model call to ${base.provider}/${base.model}: ${decision.reasons.join("; ") || decision.decision}`;
  await journal.commit(
    journaled,
    {
      type: "model-call-end",
      payload: { ...base, outcome: "error", error: { code: "forbidden", message }, durationMs: 0 },
    },
    {
      type: "run-end",
      payload: { status: "failed", error: { code: "forbidden", message }, steps: state.step },
    },
  );
  return false;
}

function offlineResult(provider: string, model: string): Omit<GatewayResult, "turn"> {
  return {
    provider,
    model,
    cost: { usd: 0, priceTableVersion: "offline", source: "self-hosted" },
    attempts: [],
    responseCache: "bypass",
    escalations: [],
  };
}

/** The cost ledger's row for this call (a projection of the journal, best effort: the journal is the record). */
async function recordCall(
  context: NodeContext,
  options: {
    callKey: string;
    phase: ModelCallPhase;
    route: RouteDecision | null;
    outcome: "ok" | "error";
    errorClass?: string;
    served?: Pick<GatewayResult, "turn" | "cost" | "attempts" | "responseCache" | "provider" | "model">;
    base: { provider: string; model: string };
    durationMs: number;
  },
): Promise<void> {
  const budgets = context.agent.budgets;
  const state = context.journal.state;
  // Costs are recorded where a cap counts them: the agent's own, or its tree's.
  if (!budgets || (!hasCaps(budgets.limits) && state.parentBudgets.length === 0)) return;
  const { ledger } = budgets;
  const usage = options.served?.turn.usage;
  await ledger
    .recordCalls([
      {
        callId: `${state.runId}:${options.callKey}`,
        origin: "run",
        tenant: state.principal.tenant,
        agent: context.agent.name,
        agentVersion: context.agent.version,
        runId: state.runId,
        phase: options.phase,
        provider: options.served?.provider ?? options.base.provider,
        model: options.served?.model ?? options.base.model,
        outcome: options.outcome,
        ...(options.errorClass ? { errorClass: options.errorClass } : {}),
        inputTokens: usage?.inputTokens ?? 0,
        outputTokens: usage?.outputTokens ?? 0,
        cacheReadTokens: usage?.cacheReadTokens ?? 0,
        cacheWriteTokens: usage?.cacheWriteTokens ?? 0,
        reasoningTokens: usage?.reasoningTokens ?? 0,
        costUsd: options.served?.cost.usd ?? 0,
        priceTableVersion: options.served?.cost.priceTableVersion ?? "none",
        routingReason: options.route?.reason ?? "offline stand-in",
        responseCache: options.served?.responseCache ?? "bypass",
        attempts: options.served?.attempts ?? [],
        durationMs: options.durationMs,
      },
    ])
    .catch(() => undefined);
}

/** Whether declared budgets cap anything (an agent bound without a budgets section has none). */
function hasCaps(limits: BudgetLimits): boolean {
  return [limits.perRun, limits.perAgentPerDay, limits.perTenantPerDay].some(
    (cap) => cap !== undefined && (cap.usd !== undefined || cap.tokens !== undefined),
  );
}

/** The system prompt, told the JSON Schema the final answer must match when the agent declares one. */
function withOutputSchema(system: string, schema: unknown): string {
  return schema === undefined
    ? system
    : `${system}\n\nYour final answer must be JSON only, with no other text, matching this JSON Schema: ${JSON.stringify(schema)}`;
}
