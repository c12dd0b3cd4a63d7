// models/: the ModelProvider port, the offline rules and scripted providers, the AI SDK adapters, and the
// model gateway (routing, response cache, circuit breakers, failover, usage normalisation and pricing).
export { createAnthropicModelProvider } from "./anthropic-model-provider.ts";
export type { ModelTarget } from "./call-with-failover.ts";
export {
  type ClassificationAdapter,
  type ClassificationScore,
  type ClassificationTarget,
  createClassificationAdapter,
  positiveScore,
} from "./classification-target.ts";
export {
  APPROXIMATION_MARGIN,
  contextWindowOf,
  DEFAULT_CONTEXT_WINDOW,
  type TokenCounter,
  tokenCounterFor,
} from "./count-tokens.ts";
export {
  createEmbeddingAdapter,
  type EmbeddingAdapter,
  type EmbeddingBatch,
  type EmbeddingTarget,
} from "./embedding-target.ts";
export { createGoogleModelProvider } from "./google-model-provider.ts";
export {
  classifyModelError,
  type ModelCallError,
  type ModelErrorClass,
  type StreamedPart,
} from "./model-call-error.ts";
export {
  type ClassificationCall,
  type ClassificationResult,
  createModelGateway,
  type EmbeddingCall,
  type EmbeddingResult,
  estimateInputTokens,
  type GatewayCall,
  type GatewayResult,
  type GatewayStreamPart,
  isRoutedModelProvider,
  type ModelGateway,
  routedModelProvider,
} from "./model-gateway.ts";
export type {
  GenerateOptions,
  ModelMessage,
  ModelParams,
  ModelProvider,
  ModelStreamPart,
  ModelToolDefinition,
  ModelTurn,
} from "./model-provider.ts";
export { runInputIndex } from "./model-provider.ts";
export { classifierPolicy, type ModelPolicy, type RouteDecision, type TargetRef } from "./model-route.ts";
export { offlineSummary, SUMMARIZE_SYSTEM_PROMPT } from "./offline-summary.ts";
export { createOpenAICompatibleModelProvider } from "./openai-compatible-model-provider.ts";
export { createOpenAIModelProvider } from "./openai-model-provider.ts";
export { createPriceTable, type PriceOverrides } from "./price-table.ts";
export { createRulesModelProvider } from "./rules-model-provider.ts";
export { createScriptedModelProvider, type ScriptedTurn } from "./scripted-model-provider.ts";
export { splitIntoDeltas } from "./stream-turn-in-deltas.ts";
export {
  createGatewayTextEmbedder,
  createOfflineTextEmbedder,
  createTextEmbedder,
  normalise,
  type TextEmbedder,
} from "./text-embedder.ts";
