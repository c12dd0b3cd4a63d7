import { createOpenAI } from "@ai-sdk/openai";
import { createAiSdkModelProvider } from "./ai-sdk-model-provider.ts";
import type { ModelProvider } from "./model-provider.ts";
import { sharedNodeHttpFetch } from "./node-http-fetch.ts";

/**
 * OpenAI's Chat Completions API through `@ai-sdk/openai`, with `prompt_cache_key` set from the call's cache
 * key so calls sharing a prefix land on the same cache.
 */
export function createOpenAIModelProvider(options: {
  model: string;
  apiKey: string;
  baseUrl?: string;
  organization?: string;
  fetch?: typeof globalThis.fetch;
}): ModelProvider {
  const openai = createOpenAI({
    apiKey: options.apiKey,
    ...(options.baseUrl === undefined ? {} : { baseURL: options.baseUrl }),
    ...(options.organization === undefined ? {} : { organization: options.organization }),
    // Non-streamed calls skip the platform fetch's web streams (see node-http-fetch.ts) unless a fetch is given.
    fetch: options.fetch ?? sharedNodeHttpFetch(),
  });
  return createAiSdkModelProvider({
    provider: "openai",
    model: openai.chat(options.model),
    caching: (key) => ({ kind: "cache-key", providerKey: "openai", key }),
  });
}
