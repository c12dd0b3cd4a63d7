import { createHash } from "node:crypto";
import type { GenerateOptions, ModelToolDefinition, ModelTurn } from "./model-provider.ts";

/** Hit and miss counts of the exact response cache. */
export type ResponseCacheStats = { hits: number; misses: number; stores: number; entries: number };

/**
 * An exact response cache: the same tenant asking the same target the same thing (system prompt,
 * conversation, tools, parameters) within the TTL gets the same turn without a model call. Keys are scoped
 * by tenant so one tenant's answers never reach another. A turn that calls a side-effecting tool is never
 * stored, so a cached answer can never re-trigger an action.
 */
export type ResponseCache = {
  keyFor(options: { tenant: string; target: string; request: GenerateOptions }): string;
  get(key: string): ModelTurn | undefined;
  set(
    key: string,
    turn: ModelTurn,
    options: { ttlMs: number; tools: readonly ModelToolDefinition[] },
  ): boolean;
  stats(): ResponseCacheStats;
};

export function createResponseCache(
  options: { maxEntries?: number; now?: () => number } = {},
): ResponseCache {
  const maxEntries = options.maxEntries ?? 10_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { turn: ModelTurn; expiresAt: number }>();
  let hits = 0;
  let misses = 0;
  let stores = 0;
  return {
    keyFor({ tenant, target, request }) {
      const material = JSON.stringify([
        tenant,
        target,
        request.system,
        request.messages,
        request.tools.map((tool) => [tool.name, tool.description, tool.inputSchema]),
        request.params,
      ]);
      return createHash("sha256").update(material).digest("base64url");
    },
    get(key) {
      const entry = entries.get(key);
      if (!entry || entry.expiresAt <= now()) {
        if (entry) entries.delete(key);
        misses += 1;
        return undefined;
      }
      hits += 1;
      return entry.turn;
    },
    set(key, turn, { ttlMs, tools }) {
      if (!isCacheable(turn, tools)) return false;
      entries.delete(key);
      entries.set(key, { turn, expiresAt: now() + ttlMs });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      stores += 1;
      return true;
    },
    stats: () => ({ hits, misses, stores, entries: entries.size }),
  };
}

/** Answers are cacheable; tool calls only when every tool called is declared free of side effects. */
export function isCacheable(turn: ModelTurn, tools: readonly ModelToolDefinition[]): boolean {
  if (turn.decision.kind === "answer") return turn.finishReason !== "length";
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  return turn.decision.calls.every((call) => byName.get(call.tool)?.sideEffect === false);
}
