import { Counter, Gauge, type Registry } from "prom-client";
import type { Usage } from "../journal/index.ts";
import type { ResponseCache } from "./response-cache.ts";

/** What metrics need from a served call (a subset of the gateway's result). */
type ServedCall = { turn: { usage: Usage }; cost: { usd: number }; responseCache: "hit" | "miss" | "bypass" };

/**
 * What this process's gateway served, by caller (an agent, or `key:<id>` for the governed endpoint), counted on
 * the one metrics registry as `keel_gateway_*`. Agents' calls are also projected from the journal as the
 * OpenTelemetry GenAI metrics; these count the endpoint's callers too, and the response cache.
 */
export type GatewayMetrics = {
  record(agent: string, result: ServedCall): void;
  recordFailure(agent: string): void;
  /** An embeddings call the gateway served: its texts, input tokens and cost, by caller. */
  recordEmbedding(caller: string, served: { usage: Usage; cost: { usd: number }; texts: number }): void;
  recordEmbeddingFailure(caller: string): void;
  /** A text-classification call the gateway served (a guard's classifier): its texts, input tokens and cost. */
  recordClassification(caller: string, served: { usage: Usage; cost: { usd: number }; texts: number }): void;
  recordClassificationFailure(caller: string): void;
};

export function createGatewayMetrics(cache: ResponseCache, registry: Registry): GatewayMetrics {
  const calls = new Counter({
    name: "keel_gateway_calls_total",
    help: "Model calls the gateway served, by caller, outcome (ok, error) and response cache (hit, miss, bypass).",
    labelNames: ["agent", "outcome", "response_cache"],
    registers: [registry],
  });
  const tokens = new Counter({
    name: "keel_gateway_tokens_total",
    help: "Tokens the gateway's calls used, by caller and kind; input counts cache reads and writes, which are also counted alone.",
    labelNames: ["agent", "kind"],
    registers: [registry],
  });
  const cost = new Counter({
    name: "keel_gateway_cost_usd_total",
    help: "Spend of the gateway's calls in US dollars, by caller.",
    labelNames: ["agent"],
    registers: [registry],
  });
  new Gauge({
    name: "keel_gateway_response_cache_entries",
    help: "Answers held in the exact response cache now.",
    registers: [registry],
    collect() {
      this.set(cache.stats().entries);
    },
  });
  const embeddingCalls = new Counter({
    name: "keel_gateway_embedding_calls_total",
    help: "Embeddings calls the gateway served, by caller and outcome (ok, error).",
    labelNames: ["caller", "outcome"],
    registers: [registry],
  });
  const embeddingTexts = new Counter({
    name: "keel_gateway_embedding_texts_total",
    help: "Texts the gateway embedded, by caller.",
    labelNames: ["caller"],
    registers: [registry],
  });
  const embeddingTokens = new Counter({
    name: "keel_gateway_embedding_tokens_total",
    help: "Input tokens of the gateway's embeddings calls (estimated where the provider reports none), by caller.",
    labelNames: ["caller"],
    registers: [registry],
  });
  const embeddingCost = new Counter({
    name: "keel_gateway_embedding_cost_usd_total",
    help: "Spend of the gateway's embeddings calls in US dollars, by caller.",
    labelNames: ["caller"],
    registers: [registry],
  });
  const classificationCalls = new Counter({
    name: "keel_gateway_classification_calls_total",
    help: "Text-classification calls the gateway served (guards' classifiers), by caller and outcome (ok, error).",
    labelNames: ["caller", "outcome"],
    registers: [registry],
  });
  const classificationTexts = new Counter({
    name: "keel_gateway_classification_texts_total",
    help: "Texts the gateway classified, by caller.",
    labelNames: ["caller"],
    registers: [registry],
  });
  const classificationTokens = new Counter({
    name: "keel_gateway_classification_tokens_total",
    help: "Input tokens of the gateway's classification calls (estimated where the server reports none), by caller.",
    labelNames: ["caller"],
    registers: [registry],
  });
  const classificationCost = new Counter({
    name: "keel_gateway_classification_cost_usd_total",
    help: "Spend of the gateway's classification calls in US dollars, by caller.",
    labelNames: ["caller"],
    registers: [registry],
  });
  return {
    recordEmbedding(caller, served) {
      embeddingCalls.inc({ caller, outcome: "ok" });
      embeddingTexts.inc({ caller }, served.texts);
      embeddingTokens.inc({ caller }, served.usage.inputTokens);
      embeddingCost.inc({ caller }, served.cost.usd);
    },
    recordEmbeddingFailure(caller) {
      embeddingCalls.inc({ caller, outcome: "error" });
    },
    recordClassification(caller, served) {
      classificationCalls.inc({ caller, outcome: "ok" });
      classificationTexts.inc({ caller }, served.texts);
      classificationTokens.inc({ caller }, served.usage.inputTokens);
      classificationCost.inc({ caller }, served.cost.usd);
    },
    recordClassificationFailure(caller) {
      classificationCalls.inc({ caller, outcome: "error" });
    },
    record(agent, result) {
      const { usage } = result.turn;
      calls.inc({ agent, outcome: "ok", response_cache: result.responseCache });
      tokens.inc({ agent, kind: "input" }, usage.inputTokens);
      tokens.inc({ agent, kind: "output" }, usage.outputTokens);
      tokens.inc({ agent, kind: "cache_read" }, usage.cacheReadTokens ?? 0);
      tokens.inc({ agent, kind: "cache_write" }, usage.cacheWriteTokens ?? 0);
      cost.inc({ agent }, result.cost.usd);
    },
    recordFailure(agent) {
      calls.inc({ agent, outcome: "error" });
    },
  };
}
