import { createHash } from "node:crypto";
import { createEmbeddingAdapter } from "./embedding-target.ts";
import type { ModelGateway } from "./model-gateway.ts";
import type { TargetRef } from "./model-route.ts";

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
 * An embedding model called directly through its provider's API (`createEmbeddingAdapter`): no retries, failover or
 * accounting. Vectors come back normalised to unit length. A configured model goes through the gateway instead
 * (`createGatewayTextEmbedder`).
 */
export function createTextEmbedder(options: {
  provider: string;
  model: string;
  apiKey?: string;
  baseUrl?: string;
  fetch?: typeof globalThis.fetch;
}): TextEmbedder {
  const adapter = createEmbeddingAdapter(options);
  const name = `${options.provider}/${options.model}`;
  return {
    model: name,
    label: `${name} through its embeddings API`,
    offline: false,
    async embed(texts, signal) {
      return await inBatches(texts, async (values) => {
        const batch = await adapter.embed(values, signal ?? new AbortController().signal);
        return batch.embeddings;
      });
    },
  };
}

/**
 * An embedding model through the gateway: each batch is one gateway call to the first target, retried, guarded by
 * its circuit breaker and failed over to the next (the same model on another server or key), its tokens and cost
 * priced and counted in the gateway's metrics under `caller`. Vectors are recorded under the first target's name.
 */
export function createGatewayTextEmbedder(options: {
  gateway: ModelGateway;
  targets: readonly TargetRef[];
  /** Who the calls are for in the metrics: the agent's name. */
  caller: string;
}): TextEmbedder {
  const [first, ...fallbacks] = options.targets;
  if (!first) throw new Error("an embedding model needs at least one target");
  const name = `${first.provider}/${first.model}`;
  const also = fallbacks.map((ref) => `${ref.provider}/${ref.model}`);
  return {
    model: name,
    label: `${name} through the gateway${also.length > 0 ? `, fallbacks ${also.join(", ")}` : ""}`,
    offline: false,
    async embed(texts, signal) {
      return await inBatches(texts, async (values) => {
        const result = await options.gateway.embed({
          texts: values,
          targets: options.targets,
          caller: options.caller,
          ...(signal ? { signal } : {}),
        });
        return result.vectors;
      });
    },
  };
}

async function inBatches(
  texts: readonly string[],
  embed: (values: readonly string[]) => Promise<number[][]>,
): Promise<Float32Array[]> {
  const vectors: Float32Array[] = [];
  for (let start = 0; start < texts.length; start += BATCH) {
    for (const embedding of await embed(texts.slice(start, start + BATCH))) {
      vectors.push(normalise(Float32Array.from(embedding)));
    }
  }
  return vectors;
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
