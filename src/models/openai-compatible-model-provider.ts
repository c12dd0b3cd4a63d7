import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { createAiSdkModelProvider } from "./ai-sdk-model-provider.ts";
import type { ModelProvider } from "./model-provider.ts";
import { sharedNodeHttpFetch } from "./node-http-fetch.ts";

/**
 * Any server speaking OpenAI's Chat Completions (Ollama, vLLM, llama.cpp server, LM Studio) through
 * `@ai-sdk/openai-compatible`: a base URL and, when the server wants one, a key. `provider` is the name the
 * spec uses for it (e.g. `ollama`), recorded on every call.
 */
export function createOpenAICompatibleModelProvider(options: {
  provider: string;
  model: string;
  baseUrl: string;
  apiKey?: string;
  fetch?: typeof globalThis.fetch;
}): ModelProvider {
  const compatible = createOpenAICompatible({
    name: options.provider,
    baseURL: options.baseUrl,
    includeUsage: true,
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    fetch: options.fetch ?? sharedNodeHttpFetch(),
  });
  return createAiSdkModelProvider({
    provider: options.provider,
    model: compatible.chatModel(options.model),
    caching: () => ({ kind: "none" }),
  });
}
