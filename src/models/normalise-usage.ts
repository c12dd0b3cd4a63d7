import type { LanguageModelV3Usage } from "@ai-sdk/provider";
import type { Usage } from "../journal/index.ts";

/**
 * Keel's usage from the AI SDK's: every prompt token in `inputTokens` (cache reads and writes included, as
 * OpenAI counts them; the Anthropic adapter already adds them back), reasoning tokens inside `outputTokens`.
 */
export function normaliseUsage(usage: LanguageModelV3Usage): Usage {
  const cacheRead = usage.inputTokens.cacheRead ?? 0;
  const cacheWrite = usage.inputTokens.cacheWrite ?? 0;
  const noCache = usage.inputTokens.noCache;
  const inputTokens =
    usage.inputTokens.total ?? (noCache === undefined ? 0 : noCache + cacheRead + cacheWrite);
  const outputTokens = usage.outputTokens.total ?? 0;
  const reasoning = usage.outputTokens.reasoning ?? 0;
  return {
    inputTokens,
    outputTokens,
    ...(cacheRead > 0 ? { cacheReadTokens: cacheRead } : {}),
    ...(cacheWrite > 0 ? { cacheWriteTokens: cacheWrite } : {}),
    ...(reasoning > 0 ? { reasoningTokens: reasoning } : {}),
  };
}

/** Add two calls' usage (a cascade's tiers, a run's steps). */
export function addUsage(a: Usage, b: Usage): Usage {
  const sum = (x: number | undefined, y: number | undefined) => (x ?? 0) + (y ?? 0);
  const cacheRead = sum(a.cacheReadTokens, b.cacheReadTokens);
  const cacheWrite = sum(a.cacheWriteTokens, b.cacheWriteTokens);
  const reasoning = sum(a.reasoningTokens, b.reasoningTokens);
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    ...(cacheRead > 0 ? { cacheReadTokens: cacheRead } : {}),
    ...(cacheWrite > 0 ? { cacheWriteTokens: cacheWrite } : {}),
    ...(reasoning > 0 ? { reasoningTokens: reasoning } : {}),
  };
}
