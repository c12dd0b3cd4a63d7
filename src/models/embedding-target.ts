import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { EmbeddingModelV3 } from "@ai-sdk/provider";
import { ModelCallError, type ModelErrorClass } from "./model-call-error.ts";
import { sharedNodeHttpFetch } from "./node-http-fetch.ts";

/** One embeddings request's answer: a vector per text, in order, and the tokens the provider billed (if it says). */
export type EmbeddingBatch = { embeddings: number[][]; tokens: number | null };

/** An embedding model's API: OpenAI's, an OpenAI-compatible server's, or Gemini's. */
export type EmbeddingAdapter = {
  readonly provider: string;
  readonly model: string;
  embed(values: readonly string[], signal: AbortSignal): Promise<EmbeddingBatch>;
};

/** An embedding model the gateway can call: its adapter and credential, as a model target has. */
export type EmbeddingTarget = {
  readonly adapter: EmbeddingAdapter;
  /** The credential's environment variable name (never the key), or the server: part of the breaker's identity. */
  readonly keyId: string;
  /** Self-hosted models cost nothing; their tokens still count. */
  readonly selfHosted?: boolean;
  readonly on?: readonly ModelErrorClass[];
};

/**
 * An embedding model through its provider's real API, by the AI SDK's adapters: OpenAI (`/v1/embeddings`), any
 * OpenAI-compatible server given by `baseUrl` (Ollama, vLLM, llama.cpp, LM Studio), and Google's Gemini
 * (`:embedContent`, `:batchEmbedContents`).
 */
export function createEmbeddingAdapter(options: {
  provider: string;
  model: string;
  apiKey?: string;
  baseUrl?: string;
  fetch?: typeof globalThis.fetch;
}): EmbeddingAdapter {
  const fetch = options.fetch ?? sharedNodeHttpFetch();
  const key = options.apiKey === undefined ? {} : { apiKey: options.apiKey };
  const url = options.baseUrl === undefined ? {} : { baseURL: options.baseUrl };
  let model: EmbeddingModelV3;
  if (options.provider === "openai") {
    model = createOpenAI({ ...key, ...url, fetch }).embedding(options.model);
  } else if (options.provider === "google") {
    model = createGoogleGenerativeAI({ ...key, ...url, fetch }).embedding(options.model);
  } else {
    if (options.baseUrl === undefined) {
      throw new Error(
        `embedding provider "${options.provider}" needs a baseUrl (an OpenAI-compatible server)`,
      );
    }
    model = createOpenAICompatible({
      name: options.provider,
      baseURL: options.baseUrl,
      ...key,
      fetch,
    }).embeddingModel(options.model);
  }
  const name = `${options.provider}/${options.model}`;
  return {
    provider: options.provider,
    model: options.model,
    async embed(values, signal) {
      const result = await model.doEmbed({ values: [...values], abortSignal: signal });
      if (result.embeddings.length !== values.length) {
        throw new ModelCallError(
          "malformed_response",
          `${name} returned ${result.embeddings.length} embeddings for ${values.length} texts`,
        );
      }
      return { embeddings: result.embeddings.map((each) => [...each]), tokens: result.usage?.tokens ?? null };
    },
  };
}
