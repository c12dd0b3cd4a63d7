import assert from "node:assert/strict";
import { createAnthropicModelProvider } from "./anthropic-model-provider.ts";
import { createGoogleModelProvider } from "./google-model-provider.ts";
import { createOpenAICompatibleModelProvider } from "./openai-compatible-model-provider.ts";
import { createOpenAIModelProvider } from "./openai-model-provider.ts";
import { providerContract } from "./provider-contract.ts";

providerContract({
  name: "Anthropic",
  wire: "anthropic",
  golden: "anthropic",
  create: ({ baseUrl, model }) => createAnthropicModelProvider({ model, apiKey: "sk-ant-test", baseUrl }),
  checkPromptCaching(body) {
    const system = body.system as { cache_control?: unknown }[];
    assert.deepEqual(
      system.at(-1)?.cache_control,
      { type: "ephemeral" },
      "the system prompt is a breakpoint",
    );
    const messages = body.messages as { content: { cache_control?: unknown }[] }[];
    assert.deepEqual(
      messages.at(-1)?.content.at(-1)?.cache_control,
      { type: "ephemeral" },
      "so is the newest message",
    );
  },
});

providerContract({
  name: "OpenAI",
  wire: "openai",
  golden: "openai",
  create: ({ baseUrl, model }) => createOpenAIModelProvider({ model, apiKey: "sk-test", baseUrl }),
  checkPromptCaching(body) {
    assert.equal(body.prompt_cache_key, "agent:support-triage");
  },
});

providerContract({
  name: "OpenAI-compatible",
  wire: "openai",
  golden: "openai-compatible",
  selfHosted: true,
  create: ({ baseUrl, model }) => createOpenAICompatibleModelProvider({ provider: "ollama", model, baseUrl }),
});

providerContract({
  name: "Google Gemini",
  wire: "google",
  golden: "google",
  create: ({ baseUrl, model }) => createGoogleModelProvider({ model, apiKey: "test-key", baseUrl }),
});
