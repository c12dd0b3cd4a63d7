import { Counter, type Registry } from "prom-client";

/** What the memory tools count on the metrics registry `GET /metrics` serves. */
export type MemoryMetrics = {
  staleChunks(agent: string, kb: string, count: number): void;
  remembered(agent: string, dataClass: string): void;
};

const byRegistry = new WeakMap<Registry, MemoryMetrics>();

/** The memory metrics of a registry, registered on it once however many agents use them. */
export function memoryMetrics(registry: Registry): MemoryMetrics {
  const known = byRegistry.get(registry);
  if (known) return known;
  const stale = new Counter({
    name: "keel_memory_stale_chunks_total",
    help: "Knowledge-base chunks recalled past their declared freshness, by agent and knowledge base.",
    labelNames: ["agent", "kb"],
    registers: [registry],
  });
  const stored = new Counter({
    name: "keel_memory_remembered_total",
    help: "Memories written by the remember tool, by agent and data class.",
    labelNames: ["agent", "data_class"],
    registers: [registry],
  });
  const metrics: MemoryMetrics = {
    staleChunks(agent, kb, count) {
      if (count > 0) stale.inc({ agent, kb }, count);
    },
    remembered(agent, dataClass) {
      stored.inc({ agent, data_class: dataClass });
    },
  };
  byRegistry.set(registry, metrics);
  return metrics;
}
