import type { TextEmbedder } from "../models/index.ts";
import type { KbChunk, MemoryRecord, MemoryScope, MemoryStore } from "./memory-store.ts";
import { ExactIndex, IvfIndex, type VectorIndex } from "./vector-index.ts";

/** How results are found: PostgreSQL full-text search, nearest neighbours of an embedding, or both fused. */
export type RetrievalMode = "fulltext" | "vector" | "hybrid";

/** The constant of reciprocal-rank fusion: a document's score is Σ 1 / (RRF_K + rank) over the lists it is in. */
export const RRF_K = 60;

/** Below this many vectors a scan of all of them is as fast as an index and exact. */
const EXACT_SCAN_BELOW = 5_000;

/**
 * Reciprocal-rank fusion (Cormack, Clarke and Büttcher 2009): each list ranks documents by its own score; the
 * fused score adds 1 / (k + rank) for every list a document appears in, so neither list's scale matters.
 */
export function reciprocalRankFusion<T>(
  lists: readonly (readonly T[])[],
  keyOf: (item: T) => string,
  k = RRF_K,
): { item: T; score: number }[] {
  const fused = new Map<string, { item: T; score: number }>();
  for (const list of lists) {
    for (const [position, item] of list.entries()) {
      const key = keyOf(item);
      const entry = fused.get(key) ?? { item, score: 0 };
      entry.score += 1 / (k + position + 1);
      fused.set(key, entry);
    }
  }
  return [...fused.values()].sort((a, b) => b.score - a.score);
}

/** One retrieved chunk with what it was found by and whether it is past its declared freshness. */
export type RetrievedChunk = { chunk: KbChunk; score: number; stale: boolean };

/** One recalled memory and its score. */
export type RecalledMemory = { memory: MemoryRecord; score: number };

export const chunkKey = (chunk: KbChunk) => `${chunk.source}#${chunk.chunkIndex}`;

/**
 * Retrieval over the memory store: full-text search in SQL, vector search in process over the stored embeddings
 * (an index per knowledge base, rebuilt when its chunks change), fused by reciprocal rank. Without an embedder
 * every mode falls back to full-text search.
 */
export class Retriever {
  readonly store: MemoryStore;
  readonly embedder: TextEmbedder | null;
  readonly #indexes = new Map<string, { version: string; index: VectorIndex; chunks: KbChunk[] }>();

  constructor(store: MemoryStore, embedder: TextEmbedder | null) {
    this.store = store;
    this.embedder = embedder;
  }

  /** The best chunks of one knowledge base for a query. `freshnessMs` applies to chunks that declare none. */
  async searchKb(options: {
    tenant: string;
    kb: string;
    query: string;
    limit: number;
    mode?: RetrievalMode;
    now?: Date;
    freshnessMs?: number;
    signal?: AbortSignal;
  }): Promise<RetrievedChunk[]> {
    const mode = this.embedder ? (options.mode ?? "hybrid") : "fulltext";
    const depth = Math.max(options.limit * 4, 20);
    const lists: KbChunk[][] = [];
    if (mode !== "vector") {
      lists.push(
        (await this.store.searchKb(options.tenant, options.kb, options.query, depth)).map((hit) => hit.item),
      );
    }
    if (mode !== "fulltext") lists.push(await this.#nearestChunks(options, depth));
    const now = options.now ?? new Date();
    return reciprocalRankFusion(lists, chunkKey)
      .slice(0, options.limit)
      .map(({ item, score }) => ({ chunk: item, score, stale: isStale(item, now, options.freshnessMs) }));
  }

  /** The memories in scope that best match a query, unexpired at `now`. */
  async recallMemories(options: {
    scope: MemoryScope;
    query: string;
    limit: number;
    now?: Date;
    signal?: AbortSignal;
  }): Promise<RecalledMemory[]> {
    const now = options.now ?? new Date();
    const depth = Math.max(options.limit * 4, 20);
    const lists: MemoryRecord[][] = [
      (await this.store.searchMemories(options.scope, options.query, now, depth)).map((hit) => hit.item),
    ];
    if (this.embedder) {
      const stored = await this.store.memoryVectors(options.scope, this.embedder.model, now);
      if (stored.length > 0) {
        const [query] = await this.embedder.embed([options.query], options.signal);
        const index = new ExactIndex(concat(stored.map((entry) => entry.vector)), query!.length);
        lists.push(index.search(query!, depth).map((hit) => stored[hit.index]!.key));
      }
    }
    return reciprocalRankFusion(lists, (memory) => memory.id)
      .slice(0, options.limit)
      .map(({ item, score }) => ({ memory: item, score }));
  }

  async #nearestChunks(
    options: { tenant: string; kb: string; query: string; signal?: AbortSignal },
    depth: number,
  ): Promise<KbChunk[]> {
    const embedder = this.embedder!;
    const key = `${options.tenant}\u0000${options.kb}\u0000${embedder.model}`;
    const version = await this.store.kbVersion(options.tenant, options.kb);
    let cached = this.#indexes.get(key);
    if (cached?.version !== version) {
      const stored = await this.store.kbVectors(options.tenant, options.kb, embedder.model);
      if (stored.length === 0) return [];
      const dimensions = stored[0]!.vector.length;
      const data = concat(stored.map((entry) => entry.vector));
      const index =
        stored.length < EXACT_SCAN_BELOW ? new ExactIndex(data, dimensions) : new IvfIndex(data, dimensions);
      cached = { version, index, chunks: stored.map((entry) => entry.key) };
      this.#indexes.set(key, cached);
    }
    const [query] = await embedder.embed([options.query], options.signal);
    const { index, chunks } = cached;
    return index.search(query!, depth).map((hit) => chunks[hit.index]!);
  }
}

/** Past its declared freshness: its own `freshUntil`, else `updatedAt` plus the knowledge base's freshness. */
export function isStale(chunk: KbChunk, now: Date, freshnessMs?: number): boolean {
  if (chunk.freshUntil !== null) return chunk.freshUntil.getTime() < now.getTime();
  if (freshnessMs === undefined) return false;
  return chunk.updatedAt.getTime() + freshnessMs < now.getTime();
}

function concat(vectors: readonly Float32Array[]): Float32Array {
  const dimensions = vectors[0]?.length ?? 0;
  const data = new Float32Array(vectors.length * dimensions);
  for (const [row, vector] of vectors.entries()) {
    if (vector.length !== dimensions) throw new Error("stored embeddings of one model differ in length");
    data.set(vector, row * dimensions);
  }
  return data;
}
