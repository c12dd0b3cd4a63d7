import type { Usage } from "../journal/events.ts";
import type { ResponseCache } from "./response-cache.ts";

/** Per-agent counters since the process started. */
export type AgentModelStats = {
  calls: number;
  failures: number;
  inputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  costUsd: number;
  responseCacheHits: number;
  /** Share of input tokens read from the provider's prompt cache. */
  promptCacheHitRatio: number;
};

/** What metrics need from a served call (a subset of the gateway's result). */
type ServedCall = { turn: { usage: Usage }; cost: { usd: number }; responseCache: "hit" | "miss" | "bypass" };

export type GatewayMetrics = {
  record(agent: string, result: ServedCall): void;
  recordFailure(agent: string): void;
  snapshot(): { agents: Record<string, AgentModelStats>; responseCache: ReturnType<ResponseCache["stats"]> };
};

export function createGatewayMetrics(cache: ResponseCache): GatewayMetrics {
  const agents = new Map<string, Omit<AgentModelStats, "promptCacheHitRatio">>();
  const statsFor = (agent: string) => {
    let stats = agents.get(agent);
    if (!stats) {
      stats = {
        calls: 0,
        failures: 0,
        inputTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        outputTokens: 0,
        costUsd: 0,
        responseCacheHits: 0,
      };
      agents.set(agent, stats);
    }
    return stats;
  };
  return {
    record(agent, result) {
      const stats = statsFor(agent);
      const { usage } = result.turn;
      stats.calls += 1;
      stats.inputTokens += usage.inputTokens;
      stats.cacheReadTokens += usage.cacheReadTokens ?? 0;
      stats.cacheWriteTokens += usage.cacheWriteTokens ?? 0;
      stats.outputTokens += usage.outputTokens;
      stats.costUsd += result.cost.usd;
      if (result.responseCache === "hit") stats.responseCacheHits += 1;
    },
    recordFailure(agent) {
      statsFor(agent).failures += 1;
    },
    snapshot() {
      const out: Record<string, AgentModelStats> = {};
      for (const [agent, stats] of agents) {
        out[agent] = {
          ...stats,
          promptCacheHitRatio: stats.inputTokens === 0 ? 0 : stats.cacheReadTokens / stats.inputTokens,
        };
      }
      return { agents: out, responseCache: cache.stats() };
    },
  };
}
