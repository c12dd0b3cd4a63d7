import { createAnthropic } from "@ai-sdk/anthropic";
import { createAiSdkModelProvider } from "./ai-sdk-model-provider.ts";
import type { ModelProvider } from "./model-provider.ts";

/**
 * Anthropic's Messages API (tool use, streaming, prompt caching with automatic breakpoints) through
 * `@ai-sdk/anthropic`. The caller supplies the key and, for tests, the base URL and fetch.
 */
export function createAnthropicModelProvider(options: {
  model: string;
  apiKey: string;
  baseUrl?: string;
  fetch?: typeof globalThis.fetch;
}): ModelProvider {
  const anthropic = createAnthropic({
    apiKey: options.apiKey,
    ...(options.baseUrl === undefined ? {} : { baseURL: options.baseUrl }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  return createAiSdkModelProvider({
    provider: "anthropic",
    model: anthropic.messages(options.model),
    caching: () => ({ kind: "breakpoints", providerKey: "anthropic" }),
  });
}
