// memory/: long-term memory and knowledge bases: the memory store (full-text search in SQL, embeddings kept beside
// the rows), the in-process vector index, hybrid retrieval by reciprocal-rank fusion, knowledge-base ingestion, and
// the built-in `remember` and `recall` tools.
export { chunkDocument, type DocumentChunk, documentKindOf, htmlToMarkdown } from "./chunk-document.ts";
export {
  DEFAULT_CHUNK_CHARS,
  embeddingText,
  type IngestReport,
  ingestKnowledgeBase,
} from "./ingest-knowledge-base.ts";
export { type MemoryMetrics, memoryMetrics } from "./memory-metrics.ts";
export {
  type KbChunk,
  type MemoryRecord,
  type MemoryScope,
  MemoryStore,
} from "./memory-store.ts";
export { MEMORY_SWEEP_INTERVAL_MS, startMemorySweep } from "./memory-sweep.ts";
export { createMemoryTools, type MemoryToolsOptions } from "./memory-tools.ts";
export {
  isStale,
  type RecalledMemory,
  type RetrievalMode,
  type RetrievedChunk,
  Retriever,
  reciprocalRankFusion,
} from "./retrieve.ts";
export { ExactIndex, IvfIndex, seededRandom, type VectorHit, type VectorIndex } from "./vector-index.ts";
