import { createHash } from "node:crypto";
import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { EmbeddingModelV3 } from "@ai-sdk/provider";
import { sharedNodeHttpFetch } from "./node-http-fetch.ts";

/**
 * Turns texts into unit-length vectors for nearest-neighbour search. `model` is recorded with every stored vector,
 * so vectors of different models are never compared; `label` says what it is wherever results are reported.
 */
export type TextEmbedder = {
  /** `openai/text-embedding-3-small`, `offline-ngram-256`, …: stored beside each vector. */
  readonly model: string;
  /** Said in results and reports; the offline stand-in says so. */
  readonly label: string;
  readonly offline: boolean;
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
};

/** The maximum texts sent in one embeddings request. */
const BATCH = 96;

/**
 * An embedding model through its provider's real API, by the AI SDK's adapters: OpenAI (`/v1/embeddings`), any
 * OpenAI-compatible server given by `baseUrl` (Ollama, vLLM, llama.cpp, LM Studio), and Google's Gemini
 * (`:batchEmbedContents`). Vectors come back normalised to unit length.
 */
export function createTextEmbedder(options: {
  provider: string;
  model: string;
  apiKey?: string;
  baseUrl?: string;
  fetch?: typeof globalThis.fetch;
}): TextEmbedder {
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
    model: name,
    label: `${name} through its embeddings API`,
    offline: false,
    async embed(texts, signal) {
      const vectors: Float32Array[] = [];
      for (let start = 0; start < texts.length; start += BATCH) {
        const values = texts.slice(start, start + BATCH);
        const result = await model.doEmbed({
          values: [...values],
          ...(signal ? { abortSignal: signal } : {}),
        });
        if (result.embeddings.length !== values.length) {
          throw new Error(
            `${name} returned ${result.embeddings.length} embeddings for ${values.length} texts`,
          );
        }
        for (const embedding of result.embeddings) vectors.push(normalise(Float32Array.from(embedding)));
      }
      return vectors;
    },
  };
}

/**
 * The offline embedding stand-in: hashed feature vectors of a text's lower-cased words, word pairs and character
 * trigrams, signed by a second hash and normalised. No model, no network, deterministic; it captures shared words
 * and spellings, not meaning, and is labelled as a stand-in everywhere it is reported.
 */
export function createOfflineTextEmbedder(options: { dimensions?: number } = {}): TextEmbedder {
  const dimensions = options.dimensions ?? 256;
  return {
    model: `offline-ngram-${dimensions}`,
    label: `offline stand-in (hashed n-gram features, ${dimensions} dimensions; not a language model)`,
    offline: true,
    async embed(texts) {
      return texts.map((text) => hashedFeatures(text, dimensions));
    },
  };
}

function hashedFeatures(text: string, dimensions: number): Float32Array {
  const vector = new Float32Array(dimensions);
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const add = (feature: string, weight: number) => {
    const digest = createHash("sha1").update(feature).digest();
    const slot = digest.readUInt32LE(0) % dimensions;
    vector[slot]! += (digest[4]! & 1 ? 1 : -1) * weight;
  };
  for (const [index, word] of words.entries()) {
    if (STOP_WORDS.has(word)) continue;
    add(`w:${word}`, 1);
    const next = words[index + 1];
    if (next !== undefined && !STOP_WORDS.has(next)) add(`b:${word} ${next}`, 0.5);
    const padded = ` ${word} `;
    for (let at = 0; at + 3 <= padded.length; at += 1) add(`c:${padded.slice(at, at + 3)}`, 0.25);
  }
  return normalise(vector);
}

const STOP_WORDS = new Set(
  "a an and are as at be by can do does for from how i if in is it my of on or our so that the this to was we what when where which who will with you your".split(
    " ",
  ),
);

/** The vector scaled to unit length (a zero vector stays zero), so inner product is cosine similarity. */
export function normalise(vector: Float32Array): Float32Array {
  let sum = 0;
  for (let index = 0; index < vector.length; index += 1) sum += vector[index]! * vector[index]!;
  if (sum === 0) return vector;
  const scale = 1 / Math.sqrt(sum);
  for (let index = 0; index < vector.length; index += 1) vector[index]! *= scale;
  return vector;
}
