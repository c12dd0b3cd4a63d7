import { Registry } from "prom-client";
import type { CallCost, ModelCallAttempt, ModelCallPhase, Usage } from "../journal/index.ts";
import {
  callWithFailover,
  type FailoverContext,
  type FailoverTarget,
  generateWithFailover,
  type ModelTarget,
  streamWithFailover,
  targetKey,
} from "./call-with-failover.ts";
import type { ClassificationScore, ClassificationTarget } from "./classification-target.ts";
import type { EmbeddingTarget } from "./embedding-target.ts";
import { escalationReason } from "./escalation-reason.ts";
import { createGatewayMetrics, type GatewayMetrics } from "./gateway-metrics.ts";
import { classifyModelError, ModelCallError } from "./model-call-error.ts";
import type { GenerateOptions, ModelProvider, ModelStreamPart, ModelTurn } from "./model-provider.ts";
import type { ModelPolicy, RouteDecision, TargetRef } from "./model-route.ts";
import { routeModelCall } from "./model-route.ts";
import { addUsage } from "./normalise-usage.ts";
import { estimateCallCeiling, type PriceTable, priceCall } from "./price-table.ts";
import { createResponseCache, type ResponseCache } from "./response-cache.ts";
import {
  createTargetPolicies,
  DEFAULT_RESILIENCE,
  type ResilienceOptions,
  type TargetPolicies,
} from "./target-policies.ts";

/** One call as the gateway sees it: the request, the caller's model policy, and facts routing may use. */
export type GatewayCall = {
  request: GenerateOptions;
  policy: ModelPolicy;
  agent: string;
  tenant: string;
  phase: ModelCallPhase;
  tags?: readonly string[];
  /** For cascades: a reason to reject a small model's turn (e.g. arguments that fail the tool's schema), or null. */
  validate?: (turn: ModelTurn) => string | null;
};

/** A served call: the turn, who served it, what it cost, and how the gateway got there. */
export type GatewayResult = {
  turn: ModelTurn;
  provider: string;
  model: string;
  cost: CallCost;
  attempts: ModelCallAttempt[];
  responseCache: "hit" | "miss" | "bypass";
  escalations: { provider: string; model: string; reason: string }[];
};

/** Texts to embed, the embedding targets in order (the first, then its fallbacks), and who asks. */
export type EmbeddingCall = {
  texts: readonly string[];
  targets: readonly TargetRef[];
  /** Who the call is for, as metrics name it: an agent, or `kb` for knowledge-base ingestion. */
  caller: string;
  signal?: AbortSignal;
};

/** Embedded texts: a vector per text (as the model returned it), who served them, and what they cost. */
export type EmbeddingResult = {
  vectors: number[][];
  provider: string;
  model: string;
  /** Input tokens billed; estimated (about 3 characters a token) when the provider does not report them (Gemini). */
  usage: Usage;
  usageEstimated: boolean;
  cost: CallCost;
  attempts: ModelCallAttempt[];
};

/** Texts to classify, the classification targets in order (the first, then its fallbacks), and who asks. */
export type ClassificationCall = {
  texts: readonly string[];
  targets: readonly TargetRef[];
  /** Who the call is for, as metrics name it: the agent whose guard asks. */
  caller: string;
  signal?: AbortSignal;
};

/** Classified texts: a score per text, who served them, what they cost and how long it took. */
export type ClassificationResult = {
  scores: ClassificationScore[];
  provider: string;
  model: string;
  /** Input tokens; estimated (about 3 characters a token) when the server does not report them. */
  usage: Usage;
  usageEstimated: boolean;
  cost: CallCost;
  attempts: ModelCallAttempt[];
};

export type GatewayStreamPart = ModelStreamPart | { type: "result"; result: GatewayResult };

/** The model gateway: every model call in Keel, and every call to the governed endpoint, goes through it. */
export type ModelGateway = {
  readonly priceTable: PriceTable;
  route(call: GatewayCall): RouteDecision;
  /** The most this call can cost and how many tokens it can use: what a budget reserves before it. */
  estimate(call: GatewayCall, route: RouteDecision): { usd: number; tokens: number };
  generate(call: GatewayCall, route: RouteDecision): Promise<GatewayResult>;
  /**
   * Stream the turn; the last part is the result. Failover and retries happen only before the first token; a
   * stream cut after it fails with the usage and cost of what was sent, estimated, on the error's `partial`.
   */
  stream(call: GatewayCall, route: RouteDecision): AsyncGenerator<GatewayStreamPart>;
  /**
   * Embed texts with the first embedding target that serves them: each target through its own retries, breaker and
   * timeout, failing over as a model call does; usage and cost priced by the table and counted in the metrics.
   * Fallbacks must be the same model (vectors of different models are not comparable), on another server or key.
   */
  embed(call: EmbeddingCall): Promise<EmbeddingResult>;
  /**
   * Classify texts with the first classification target that serves them (a guard's injection classifier), with
   * the retries, breaker, timeout and failover of any model call; tokens priced by the table, counted in the metrics.
   */
  classify(call: ClassificationCall): Promise<ClassificationResult>;
  breakerState(target: TargetRef): "closed" | "open" | "half-open" | "isolated" | "unused";
  readonly metrics: GatewayMetrics;
};

export type GatewayOptions = {
  priceTable: PriceTable;
  /** Build the adapter for a spec's provider and model; the composition root holds the keys. */
  resolveTarget: (ref: TargetRef) => ModelTarget;
  /** Build the adapter for an embedding model; without it the gateway embeds nothing. */
  resolveEmbeddingTarget?: (ref: TargetRef) => EmbeddingTarget;
  /** Build the adapter for a text-classification model; without it the gateway classifies nothing. */
  resolveClassificationTarget?: (ref: TargetRef) => ClassificationTarget;
  resilience?: Partial<ResilienceOptions>;
  responseCache?: ResponseCache;
  /** The metrics registry `GET /metrics` serves; without one, the gateway counts into a registry of its own. */
  metrics?: Registry;
};

/** Default output allowance assumed when reserving budget for a call whose spec sets no maxOutputTokens. */
export const DEFAULT_OUTPUT_ALLOWANCE = 4_096;

export function createModelGateway(options: GatewayOptions): ModelGateway {
  const resilience = { ...DEFAULT_RESILIENCE, ...options.resilience };
  const targets = new Map<string, ModelTarget>();
  const policies = new Map<string, TargetPolicies>();
  const cache = options.responseCache ?? createResponseCache();
  const metrics = createGatewayMetrics(cache, options.metrics ?? new Registry());

  const resolve = (ref: TargetRef): ModelTarget => {
    const key = `${ref.provider}|${ref.model}`;
    let target = targets.get(key);
    if (!target) {
      try {
        target = options.resolveTarget(ref);
      } catch (error) {
        // Building a target only reads configuration (provider, key, URL): its failure is never worth a retry.
        if (error instanceof ModelCallError) throw error;
        throw new ModelCallError("configuration", (error as Error).message, { cause: error });
      }
      targets.set(key, target);
    }
    return ref.on ? { ...target, on: ref.on } : target;
  };
  const resolveEmbedding = cachedResolver(options.resolveEmbeddingTarget, "embedding");
  const resolveClassification = cachedResolver(options.resolveClassificationTarget, "classification");
  const policiesFor = (target: FailoverTarget): TargetPolicies => {
    const key = targetKey(target);
    let found = policies.get(key);
    if (!found) {
      found = createTargetPolicies(resilience);
      policies.set(key, found);
    }
    return found;
  };
  const price = (target: ModelTarget, usage: Usage): CallCost =>
    priceCall({
      table: options.priceTable,
      provider: target.adapter.provider,
      model: target.adapter.model,
      usage,
      ...(target.selfHosted ? { selfHosted: true } : {}),
    });
  /**
   * The usage and cost of an input-only call (embeddings, classification): the tokens the provider reported, else an
   * estimate of a token per three characters, said to be one.
   */
  const priceInput = (
    target: { adapter: { provider: string; model: string }; selfHosted?: boolean },
    tokens: number | null,
    texts: readonly string[],
  ): { usage: Usage; estimated: boolean; cost: CallCost } => {
    const usage: Usage = {
      inputTokens: tokens ?? Math.ceil(texts.reduce((sum, text) => sum + text.length, 0) / 3),
      outputTokens: 0,
    };
    const cost = priceCall({
      table: options.priceTable,
      provider: target.adapter.provider,
      model: target.adapter.model,
      usage,
      ...(target.selfHosted ? { selfHosted: true } : {}),
    });
    return { usage, estimated: tokens === null, cost };
  };
  const failover = (call: GatewayCall, tier: readonly TargetRef[]): FailoverContext => ({
    targets: tier.map(resolve),
    policiesFor,
    request: withCacheKey(call),
  });
  const cacheKeyOf = (call: GatewayCall, route: RouteDecision): string | null => {
    if (call.policy.responseCacheTtlMs === undefined) return null;
    const first = route.tiers[0]?.[0];
    return cache.keyFor({
      tenant: call.tenant,
      target: `${first?.provider}/${first?.model}`,
      request: call.request,
    });
  };

  async function generate(call: GatewayCall, route: RouteDecision): Promise<GatewayResult> {
    const key = cacheKeyOf(call, route);
    const cached = key === null ? undefined : cache.get(key);
    const first = route.tiers[0]![0]!;
    if (cached) {
      const result = cachedResult(cached, first, options.priceTable.version);
      metrics.record(call.agent, result);
      return result;
    }
    let usage: Usage = { inputTokens: 0, outputTokens: 0 };
    let usd = 0;
    const attempts: ModelCallAttempt[] = [];
    const escalations: GatewayResult["escalations"] = [];
    let costSource: CallCost["source"] = "table";
    try {
      for (const [index, tier] of route.tiers.entries()) {
        const served = await generateWithFailover(failover(call, tier));
        attempts.push(...served.attempts);
        const cost = price(served.target, served.turn.usage);
        usage = addUsage(usage, served.turn.usage);
        usd += cost.usd;
        costSource = cost.source;
        const last = index === route.tiers.length - 1;
        const reason =
          last || !route.cascade ? null : escalationReason(served.turn, route.cascade, call.validate);
        if (reason !== null) {
          escalations.push({
            provider: served.target.adapter.provider,
            model: served.target.adapter.model,
            reason,
          });
          continue;
        }
        const result: GatewayResult = {
          turn: { ...served.turn, usage },
          provider: served.target.adapter.provider,
          model: served.target.adapter.model,
          cost: { usd, priceTableVersion: options.priceTable.version, source: costSource },
          attempts,
          responseCache: key === null ? "bypass" : "miss",
          escalations,
        };
        if (key !== null) {
          cache.set(key, served.turn, { ttlMs: call.policy.responseCacheTtlMs!, tools: call.request.tools });
        }
        metrics.record(call.agent, result);
        return result;
      }
    } catch (error) {
      metrics.recordFailure(call.agent);
      throw error;
    }
    throw new Error("routing produced no tiers");
  }

  return {
    priceTable: options.priceTable,
    route: (call) =>
      routeModelCall(call.policy, {
        agent: call.agent,
        phase: call.phase,
        inputTokens: estimateInputTokens(call.request),
        tags: call.tags ?? [],
        text: latestUserText(call.request),
      }),
    estimate(call, route) {
      const inputTokens = estimateInputTokens(call.request);
      const output = call.request.params.maxOutputTokens ?? DEFAULT_OUTPUT_ALLOWANCE;
      let usd = 0;
      for (const tier of route.tiers) {
        // Any target of a tier may serve it; reserve for the dearest. Every cascade tier may run.
        usd += Math.max(
          0,
          ...tier.map((ref) =>
            estimateCallCeiling({
              table: options.priceTable,
              provider: ref.provider,
              model: ref.model,
              inputTokens,
              maxOutputTokens: output,
            }),
          ),
        );
      }
      return { usd, tokens: (inputTokens + output) * route.tiers.length };
    },
    generate,
    async *stream(call, route) {
      // A cascade must see a whole turn before accepting it, and a cache hit has nothing to wait for.
      if (route.tiers.length > 1 || cacheKeyOf(call, route) !== null) {
        const result = await generate(call, route);
        yield* partsOf(result.turn);
        yield { type: "result", result };
        return;
      }
      let served: { target: ModelTarget; attempts: ModelCallAttempt[] } | null = null;
      let streamedText = "";
      let streamedCalls = "";
      try {
        for await (const part of streamWithFailover(failover(call, route.tiers[0]!))) {
          if (part.type === "served") {
            served = part;
            continue;
          }
          if (part.type === "text-delta") streamedText += part.text;
          if (part.type === "tool-call") streamedCalls += JSON.stringify(part.call);
          yield part;
          if (part.type === "finish" && served) {
            const result: GatewayResult = {
              turn: part.turn,
              provider: served.target.adapter.provider,
              model: served.target.adapter.model,
              cost: price(served.target, part.turn.usage),
              attempts: served.attempts,
              responseCache: "bypass",
              escalations: [],
            };
            metrics.record(call.agent, result);
            yield { type: "result", result };
          }
        }
      } catch (error) {
        metrics.recordFailure(call.agent);
        if (served && error instanceof ModelCallError && error.afterFirstToken) {
          // The provider bills what it sent; its usage report never came, so the tokens are estimated.
          const usage: Usage = {
            inputTokens: estimateInputTokens(call.request),
            outputTokens: Math.ceil((streamedText.length + streamedCalls.length) / 3),
          };
          error.partial = {
            provider: served.target.adapter.provider,
            model: served.target.adapter.model,
            text: streamedText,
            usage,
            cost: price(served.target, usage),
          };
        }
        throw error;
      }
    },
    async embed(call) {
      try {
        const [first] = call.targets;
        if (!first) throw new ModelCallError("configuration", "no embedding model is configured");
        const model = first.model;
        const other = call.targets.find((ref) => ref.model !== model);
        if (other) {
          throw new ModelCallError(
            "configuration",
            `an embedding fallback must be the same model as the first (${model}), not ${other.model}: vectors of different models cannot be compared`,
          );
        }
        const served = await callWithFailover(
          {
            targets: call.targets.map(resolveEmbedding),
            policiesFor,
            signal: call.signal ?? new AbortController().signal,
          },
          (target, signal) => target.adapter.embed(call.texts, signal),
        );
        const { target, value } = served;
        const { usage, estimated, cost } = priceInput(target, value.tokens, call.texts);
        metrics.recordEmbedding(call.caller, { usage, cost, texts: call.texts.length });
        return {
          vectors: value.embeddings,
          provider: target.adapter.provider,
          model: target.adapter.model,
          usage,
          usageEstimated: estimated,
          cost,
          attempts: served.attempts,
        };
      } catch (error) {
        metrics.recordEmbeddingFailure(call.caller);
        throw error instanceof ModelCallError ? error : classifyModelError(error);
      }
    },
    async classify(call) {
      try {
        if (call.targets.length === 0)
          throw new ModelCallError("configuration", "no classification model is configured");
        const served = await callWithFailover(
          {
            targets: call.targets.map(resolveClassification),
            policiesFor,
            signal: call.signal ?? new AbortController().signal,
          },
          (target, signal) => target.adapter.classify(call.texts, signal),
        );
        const { target, value } = served;
        if (value.scores.length !== call.texts.length) {
          throw new ModelCallError(
            "malformed_response",
            `${target.adapter.provider}/${target.adapter.model} returned ${value.scores.length} scores for ${call.texts.length} texts`,
          );
        }
        const { usage, estimated, cost } = priceInput(target, value.tokens, call.texts);
        metrics.recordClassification(call.caller, { usage, cost, texts: call.texts.length });
        return {
          scores: value.scores,
          provider: target.adapter.provider,
          model: target.adapter.model,
          usage,
          usageEstimated: estimated,
          cost,
          attempts: served.attempts,
        };
      } catch (error) {
        metrics.recordClassificationFailure(call.caller);
        throw error instanceof ModelCallError ? error : classifyModelError(error);
      }
    },
    breakerState(ref) {
      const target = targets.get(`${ref.provider}|${ref.model}`);
      if (!target) return "unused";
      return policies.get(targetKey(target))?.breakerState() ?? "unused";
    },
    metrics,
  };
}

/** A cheap, provider-neutral token estimate (about 3 characters a token, erring high) for routing and budgets. */
export function estimateInputTokens(request: GenerateOptions): number {
  let characters = request.system.length;
  for (const message of request.messages) {
    characters +=
      message.role === "tool" ? JSON.stringify(message.content ?? null).length : message.content.length;
    if (message.role === "assistant" && message.toolCalls)
      characters += JSON.stringify(message.toolCalls).length;
  }
  for (const tool of request.tools)
    characters += tool.name.length + tool.description.length + JSON.stringify(tool.inputSchema).length;
  return Math.ceil(characters / 3);
}

function latestUserText(request: GenerateOptions): string {
  for (let index = request.messages.length - 1; index >= 0; index -= 1) {
    const message = request.messages[index]!;
    if (message.role === "user") return message.content;
  }
  return "";
}

function withCacheKey(call: GatewayCall): GenerateOptions {
  if (!call.policy.promptCaching) {
    const { promptCacheKey: _unused, ...rest } = call.request;
    return { ...rest, promptCaching: false };
  }
  return call.request.promptCacheKey === undefined
    ? { ...call.request, promptCacheKey: `keel:${call.tenant}:${call.agent}` }
    : call.request;
}

function cachedResult(turn: ModelTurn, target: TargetRef, version: string): GatewayResult {
  return {
    turn: { ...turn, usage: { inputTokens: 0, outputTokens: 0 } },
    provider: target.provider,
    model: target.model,
    cost: { usd: 0, priceTableVersion: version, source: "response-cache" },
    attempts: [],
    responseCache: "hit",
    escalations: [],
  };
}

function* partsOf(turn: ModelTurn): Generator<ModelStreamPart> {
  if (turn.decision.kind === "answer") {
    if (turn.decision.text.length > 0) yield { type: "text-delta", text: turn.decision.text };
  } else {
    if (turn.decision.text) yield { type: "text-delta", text: turn.decision.text };
    for (const call of turn.decision.calls) yield { type: "tool-call", call };
  }
  yield { type: "finish", turn };
}

/** A ModelProvider that routes through the gateway under a policy: what an agent bound to real models holds. */
export type RoutedModelProvider = ModelProvider & {
  readonly gateway: ModelGateway;
  readonly policy: ModelPolicy;
};

export function isRoutedModelProvider(provider: ModelProvider): provider is RoutedModelProvider {
  return "gateway" in provider && "policy" in provider;
}

/** Bind a policy to the gateway as a ModelProvider (its `generate` is a plain, unrouted-by-phase call). */
export function routedModelProvider(options: {
  gateway: ModelGateway;
  policy: ModelPolicy;
  agent: string;
  tenant?: string;
}): RoutedModelProvider {
  const { gateway, policy } = options;
  return {
    provider: policy.primary.provider,
    model: policy.primary.model,
    offline: false,
    gateway,
    policy,
    async generate(request) {
      const call: GatewayCall = {
        request,
        policy,
        agent: options.agent,
        tenant: options.tenant ?? "default",
        phase: "execution",
      };
      return (await gateway.generate(call, gateway.route(call))).turn;
    },
  };
}

/**
 * One resolved target per provider, model and endpoint for an input-only kind of call (embeddings,
 * classification), with the call's `on` applied; a gateway configured without `resolve` refuses the kind.
 */
function cachedResolver<T extends { on?: unknown }>(
  resolve: ((ref: TargetRef) => T) | undefined,
  kind: "embedding" | "classification",
): (ref: TargetRef) => T {
  const targets = new Map<string, T>();
  return (ref) => {
    const key = `${ref.provider}|${ref.model}|${ref.endpoint?.baseUrl ?? ""}`;
    let target = targets.get(key);
    if (!target) {
      if (!resolve)
        throw new ModelCallError("configuration", `this gateway has no ${kind} models configured`);
      try {
        target = resolve(ref);
      } catch (error) {
        // Building a target only reads configuration (provider, key, URL): its failure is never worth a retry.
        if (error instanceof ModelCallError) throw error;
        throw new ModelCallError("configuration", (error as Error).message, { cause: error });
      }
      targets.set(key, target);
    }
    return ref.on ? { ...target, on: ref.on } : target;
  };
}
