import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { type Context, Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import {
  type BudgetCounter,
  type BudgetLedger,
  type BudgetLimits,
  describeRefusal,
} from "../governance/index.ts";
import type {
  GatewayCall,
  GatewayResult,
  GatewayStreamPart,
  ModelCallError,
  ModelGateway,
  ModelPolicy,
} from "../models/index.ts";
import { classifyModelError } from "../models/index.ts";
import type { TelemetryMetrics } from "../telemetry/index.ts";
import { type CallRecorder, createCallRecorder } from "./chat-completions-recorder.ts";
import {
  fromChatMessages,
  fromChatTools,
  toChatCompletion,
  toChatError,
  toChatToolCall,
  toChatUsage,
  toFinishReason,
} from "./chat-completions-wire.ts";
import { chatErrorResponse } from "./http-error.ts";
import { registerRoute } from "./register-route.ts";

/** Who calls the governed endpoint: a key id, its tenant, and the caps its spend is held to. */
export type GatewayCaller = {
  id: string;
  tenant: string;
  budgets?: { perDay?: BudgetLimits["perRun"]; perTenantPerDay?: BudgetLimits["perRun"] };
};

/** A credential the endpoint checks itself, when it runs without the control plane in front (tests, benchmarks). */
export type GatewayApiKey = GatewayCaller & { secret: string };

export type ChatCompletionsOptions = {
  gateway: ModelGateway;
  /** Bearer secrets the endpoint checks itself; ignored when `identify` is given. */
  keys?: readonly GatewayApiKey[];
  /** The caller as the control plane already authenticated it (control-plane API keys, see authorize-request.ts). */
  identify?: (context: Context) => GatewayCaller;
  /** Model names clients may ask for, each with its own routing; other names must be `provider/model-id`. */
  models?: Readonly<Record<string, ModelPolicy>>;
  /**
   * The providers a `provider/model-id` name may name (the gateway's hosted ones); another is the caller's mistake,
   * answered 400 before any routing. Absent: any, for gateways that resolve providers of their own.
   */
  providers?: readonly string[];
  ledger?: BudgetLedger;
  /** Where each call is counted in the OpenTelemetry GenAI client metrics, beside agents' calls. */
  metrics?: Pick<TelemetryMetrics, "observeModelCall">;
  now?: () => Date;
  log?: (message: string) => void;
};

/** The governed endpoint plus what the composition root must close with it. */
export type ChatCompletionsRoute = { app: Hono; close(): Promise<void> };

/**
 * `POST /v1/chat/completions`, OpenAI-compatible (streaming and not), for applications outside Keel: the same
 * routing, failover, budgets and cost records as agents. Each call is counted in the GenAI client metrics
 * (`gen_ai_client_*`, agent `key:<id>`) like an agent's; per-key usage, prompt-cache and response-cache counts are
 * the gateway's `keel_gateway_*` families on `GET /metrics`.
 */
export function createChatCompletionsRoute(options: ChatCompletionsOptions): ChatCompletionsRoute {
  const { gateway, ledger } = options;
  const now = options.now ?? (() => new Date());
  const log = options.log ?? ((message: string) => console.error(message));
  const keys = (options.keys ?? []).map((key) => ({ key, digest: digest(key.secret) }));
  const recorder: CallRecorder | null = ledger ? createCallRecorder({ ledger, log }) : null;
  const app = new Hono();

  const authenticate = (context: Context): GatewayCaller => {
    if (options.identify) return options.identify(context);
    const header = context.req.header("authorization") ?? "";
    const secret = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim();
    if (!secret) throw new KeelError("unauthorized", "send your Keel API key as Authorization: Bearer <key>");
    const presented = digest(secret);
    const found = keys.find((candidate) => timingSafeEqual(candidate.digest, presented));
    if (!found) throw new KeelError("unauthorized", "the API key is not valid");
    return found.key;
  };

  const policyFor = (model: string): ModelPolicy => {
    const named = options.models?.[model];
    if (named) return named;
    const slash = model.indexOf("/");
    if (slash <= 0 || slash === model.length - 1) {
      const known = Object.keys(options.models ?? {});
      throw new KeelError(
        "invalid_request",
        `unknown model "${model}": use provider/model-id (e.g. anthropic/claude-haiku-4-5-20251001)${known.length > 0 ? ` or one of ${known.join(", ")}` : ""}`,
      );
    }
    const provider = model.slice(0, slash);
    if (options.providers && !options.providers.includes(provider)) {
      throw new KeelError(
        "invalid_request",
        `unknown model provider "${provider}": use one of ${options.providers.join(", ")}, or a model name this server defines`,
        { issues: [{ path: "model", message: `expected a provider among ${options.providers.join(", ")}` }] },
      );
    }
    return {
      primary: { provider, model: model.slice(slash + 1) },
      fallbacks: [],
      rules: [],
      promptCaching: true,
    };
  };

  app.onError((error, context) => chatErrorResponse(context, error, log));

  registerRoute(app, API_ROUTES.chatCompletions, async ({ body }, context) => {
    const key = authenticate(context);
    const { system, messages } = fromChatMessages(body.messages);
    const tags = (context.req.header("x-keel-tags") ?? body.metadata?.tags ?? "")
      .split(",")
      .map((tag) => tag.trim())
      .filter(Boolean);
    const call: GatewayCall = {
      request: {
        system,
        messages,
        tools: fromChatTools(body.tools),
        params: {
          ...(body.temperature == null ? {} : { temperature: body.temperature }),
          ...(body.top_p == null ? {} : { topP: body.top_p }),
          ...((body.max_completion_tokens ?? body.max_tokens) == null
            ? {}
            : { maxOutputTokens: (body.max_completion_tokens ?? body.max_tokens)! }),
        },
        signal: context.req.raw.signal,
      },
      policy: policyFor(body.model),
      agent: `key:${key.id}`,
      tenant: key.tenant,
      phase: "execution",
      tags,
    };
    const route = gateway.route(call);
    const callId = `chatcmpl-${randomBytes(12).toString("hex")}`;
    const reservation = await reserve(key, callId, call, route);
    const started = performance.now();
    const record = (outcome: "ok" | "error", result: GatewayResult | null, error?: ModelCallError) => {
      const provider = result?.provider ?? route.tiers[0]![0]!.provider;
      const model = result?.model ?? route.tiers[0]![0]!.model;
      const durationMs = performance.now() - started;
      options.metrics?.observeModelCall({
        agent: call.agent,
        phase: call.phase,
        provider,
        model,
        durationMs,
        ...(error ? { errorType: error.code } : {}),
        ...(result ? { usage: result.turn.usage } : {}),
      });
      recorder?.add({
        callId,
        origin: "endpoint",
        tenant: key.tenant,
        agent: call.agent,
        agentVersion: "-",
        apiKey: key.id,
        phase: call.phase,
        provider,
        model,
        outcome,
        ...(error ? { errorClass: error.errorClass } : {}),
        inputTokens: result?.turn.usage.inputTokens ?? 0,
        outputTokens: result?.turn.usage.outputTokens ?? 0,
        cacheReadTokens: result?.turn.usage.cacheReadTokens ?? 0,
        cacheWriteTokens: result?.turn.usage.cacheWriteTokens ?? 0,
        reasoningTokens: result?.turn.usage.reasoningTokens ?? 0,
        costUsd: result?.cost.usd ?? 0,
        priceTableVersion: result?.cost.priceTableVersion ?? gateway.priceTable.version,
        routingReason: route.reason,
        responseCache: result?.responseCache ?? "bypass",
        attempts: result?.attempts ?? [],
        durationMs,
      });
    };
    const finish = async (result: GatewayResult) => {
      await reservation?.settle(
        result.cost.usd,
        result.turn.usage.inputTokens + result.turn.usage.outputTokens,
      );
      record("ok", result);
    };
    const fail = async (error: unknown) => {
      const classified = classifyModelError(error);
      // A stream cut after its first token was paid for: its estimated usage and cost are recorded and settled.
      const partial = classified.partial;
      if (partial) {
        await reservation?.settle(partial.cost.usd, partial.usage.inputTokens + partial.usage.outputTokens);
        record(
          "error",
          {
            turn: { decision: { kind: "answer", text: partial.text }, usage: partial.usage },
            provider: partial.provider,
            model: partial.model,
            cost: partial.cost,
            attempts: classified.attempts,
            responseCache: "bypass",
            escalations: [],
          },
          classified,
        );
      } else {
        await reservation?.release();
        record("error", null, classified);
      }
      return classified;
    };
    const created = Math.floor(now().getTime() / 1_000);

    if (!body.stream) {
      let result: GatewayResult;
      try {
        result = await gateway.generate(call, route);
      } catch (error) {
        throw await fail(error);
      }
      await finish(result);
      headersFor(context, result, route.reason);
      return context.json(toChatCompletion({ id: callId, created, model: body.model, turn: result.turn }));
    }

    // Failover and retries happen before the first token, so the response starts only once one has arrived.
    const parts = gateway.stream(call, route);
    let first: IteratorResult<GatewayStreamPart>;
    try {
      first = await parts.next();
    } catch (error) {
      throw await fail(error);
    }
    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (delta: unknown, finishReason: string | null = null) =>
      `data: ${JSON.stringify({ id: callId, object: "chat.completion.chunk", created, model: body.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] })}\n\n`;
    const encoder = new TextEncoder();
    let toolIndex = 0;
    const render = async (part: GatewayStreamPart): Promise<string> => {
      switch (part.type) {
        case "text-delta":
          return chunk({ content: part.text });
        case "tool-call":
          return chunk({ tool_calls: [toChatToolCall(part.call, toolIndex++)] });
        case "finish":
          return chunk({}, toFinishReason(part.turn));
        case "result": {
          await finish(part.result);
          const usage = includeUsage
            ? `data: ${JSON.stringify({ id: callId, object: "chat.completion.chunk", created, model: body.model, choices: [], usage: toChatUsage(part.result.turn.usage) })}\n\n`
            : "";
          return `${usage}data: [DONE]\n\n`;
        }
        default: {
          const unreachable: never = part;
          return String(unreachable);
        }
      }
    };
    const body$ = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode(chunk({ role: "assistant", content: "" })));
        try {
          if (!first.done) controller.enqueue(encoder.encode(await render(first.value)));
          for (;;) {
            const next = await parts.next();
            if (next.done) break;
            controller.enqueue(encoder.encode(await render(next.value)));
          }
        } catch (error) {
          const classified = await fail(error);
          controller.enqueue(encoder.encode(`data: ${JSON.stringify(toChatError(classified))}\n\n`));
        }
        controller.close();
      },
    });
    return new Response(body$, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        "x-keel-routing": route.reason,
      },
    });
  });

  async function reserve(
    key: GatewayCaller,
    callId: string,
    call: GatewayCall,
    route: ReturnType<ModelGateway["route"]>,
  ) {
    if (!ledger || !key.budgets) return null;
    const day = now().toISOString().slice(0, 10);
    const counters: BudgetCounter[] = [];
    const add = (scope: string, cap: BudgetLimits["perRun"]) => {
      if (!cap || (cap.usd === undefined && cap.tokens === undefined)) return;
      counters.push({
        scope,
        period: day,
        ...(cap.usd === undefined ? {} : { limitUsd: cap.usd }),
        ...(cap.tokens === undefined ? {} : { limitTokens: cap.tokens }),
        alertAt: cap.alertAt ?? [0.5, 0.8, 1],
      });
    };
    add(`key:${key.id}`, key.budgets.perDay);
    add(`tenant:${key.tenant}`, key.budgets.perTenantPerDay);
    if (counters.length === 0) return null;
    const estimate = gateway.estimate(call, route);
    const outcome = await ledger.reserve({
      reservationId: callId,
      counters,
      usd: estimate.usd,
      tokens: estimate.tokens,
    });
    if (!outcome.ok) {
      for (const alert of outcome.alerts)
        log(`budget alert: ${alert.scope} (${alert.period}) reached ${alert.threshold * 100}%`);
      throw new KeelError("budget_exceeded", describeRefusal(outcome.refusal));
    }
    return {
      release: () => ledger.release(callId),
      async settle(usd: number, tokens: number) {
        const { alerts } = await ledger.settle({ reservationId: callId, usd, tokens });
        for (const alert of alerts)
          log(`budget alert: ${alert.scope} (${alert.period}) reached ${alert.threshold * 100}%`);
      },
    };
  }

  return { app, close: async () => await recorder?.close() };
}

function headersFor(context: Context, result: GatewayResult, reason: string): void {
  context.header("x-keel-provider", result.provider);
  context.header("x-keel-model", result.model);
  context.header("x-keel-cost-usd", result.cost.usd.toFixed(9));
  context.header("x-keel-price-table", result.cost.priceTableVersion);
  context.header("x-keel-routing", reason);
  context.header("x-keel-response-cache", result.responseCache);
}

function digest(secret: string): Buffer {
  return createHash("sha256").update(secret).digest();
}
