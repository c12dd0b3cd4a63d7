import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { createAiSdkModelProvider } from "./ai-sdk-model-provider.ts";
import type { ModelProvider } from "./model-provider.ts";

/** Google's Gemini API through `@ai-sdk/google`; Gemini caches repeated prefixes implicitly. */
export function createGoogleModelProvider(options: {
  model: string;
  apiKey: string;
  baseUrl?: string;
  fetch?: typeof globalThis.fetch;
}): ModelProvider {
  const google = createGoogleGenerativeAI({
    apiKey: options.apiKey,
    ...(options.baseUrl === undefined ? {} : { baseURL: options.baseUrl }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  return createAiSdkModelProvider({
    provider: "google",
    model: google.languageModel(options.model),
    caching: () => ({ kind: "none" }),
  });
}
