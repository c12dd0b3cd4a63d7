import type { SqlClient } from "../store/index.ts";
import { MemoryStore } from "./memory-store.ts";

/** How often expired memories are deleted by default. */
export const MEMORY_SWEEP_INTERVAL_MS = 10 * 60_000;

/**
 * Delete expired memories now and then every `intervalMs` (retention: an expired memory is never recalled even
 * before the sweep reaches it). Returns how to stop it.
 */
export function startMemorySweep(options: {
  sql: SqlClient;
  intervalMs?: number;
  log?: (message: string) => void;
  now?: () => Date;
}): () => void {
  const store = new MemoryStore(options.sql);
  const now = options.now ?? (() => new Date());
  const sweep = async () => {
    try {
      const deleted = await store.sweepExpired(now());
      if (deleted > 0) options.log?.(`memory sweep: deleted ${deleted} expired memories`);
    } catch (error) {
      options.log?.(`memory sweep failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  void sweep();
  const timer = setInterval(sweep, options.intervalMs ?? MEMORY_SWEEP_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
