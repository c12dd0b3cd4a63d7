import type {
  JSONValue,
  LanguageModelV3FunctionTool,
  LanguageModelV3Message,
  LanguageModelV3Prompt,
  SharedV3ProviderOptions,
} from "@ai-sdk/provider";
import type { ModelMessage, ModelToolDefinition } from "./model-provider.ts";

/** How the prompt asks the provider to cache its stable prefix. */
export type PromptCaching =
  /** Anthropic: explicit `cache_control` breakpoints on the system prompt and the latest message. */
  | { kind: "breakpoints"; providerKey: string }
  /** OpenAI: automatic prefix caching, grouped by a `prompt_cache_key`. */
  | { kind: "cache-key"; providerKey: string; key: string | undefined }
  | { kind: "none" };

/**
 * Keel's conversation in the AI SDK's prompt format, in a stable prefix order — tools (sorted by name), then the
 * system prompt, then the conversation oldest first — so a provider's prompt cache sees the same prefix on
 * every turn. With `breakpoints`, the system prompt (which covers the tools before it) and the newest message
 * are marked cacheable: the next turn reads everything up to its own new message from the cache.
 */
export function convertToAiSdkPrompt(options: {
  system: string;
  messages: readonly ModelMessage[];
  tools: readonly ModelToolDefinition[];
  caching: PromptCaching;
}): {
  prompt: LanguageModelV3Prompt;
  tools: LanguageModelV3FunctionTool[];
  providerOptions: SharedV3ProviderOptions;
} {
  const { caching } = options;
  const ephemeral =
    caching.kind === "breakpoints"
      ? { [caching.providerKey]: { cacheControl: { type: "ephemeral" } } }
      : undefined;
  const prompt: LanguageModelV3Prompt = [];
  if (options.system.length > 0) {
    prompt.push({
      role: "system",
      content: options.system,
      ...(ephemeral ? { providerOptions: ephemeral } : {}),
    });
  }
  for (const message of options.messages) prompt.push(convertMessage(message));
  if (ephemeral) markLastMessage(prompt, ephemeral);
  const tools = [...options.tools]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(
      (tool): LanguageModelV3FunctionTool => ({
        type: "function",
        name: tool.name,
        description: tool.description,
        inputSchema: tool.inputSchema as LanguageModelV3FunctionTool["inputSchema"],
      }),
    );
  const providerOptions: SharedV3ProviderOptions =
    caching.kind === "cache-key" && caching.key !== undefined
      ? { [caching.providerKey]: { promptCacheKey: caching.key } }
      : {};
  return { prompt, tools, providerOptions };
}

function convertMessage(message: ModelMessage): LanguageModelV3Message {
  switch (message.role) {
    case "user":
      return { role: "user", content: [{ type: "text", text: message.content }] };
    case "assistant":
      return {
        role: "assistant",
        content: [
          ...(message.content.length > 0 ? [{ type: "text" as const, text: message.content }] : []),
          ...(message.toolCalls ?? []).map((call) => ({
            type: "tool-call" as const,
            toolCallId: call.callId,
            toolName: call.tool,
            input: call.arguments,
          })),
        ],
      };
    case "tool":
      return {
        role: "tool",
        content: [
          {
            type: "tool-result",
            toolCallId: message.callId,
            toolName: message.tool,
            output: message.isError
              ? { type: "error-json", value: toJson(message.content) }
              : { type: "json", value: toJson(message.content) },
          },
        ],
      };
    default: {
      const unreachable: never = message;
      throw new Error(`unknown message role ${(unreachable as ModelMessage).role}`);
    }
  }
}

/** Anthropic takes `cache_control` on content parts, so the breakpoint goes on the last part of the last message. */
function markLastMessage(prompt: LanguageModelV3Prompt, options: SharedV3ProviderOptions): void {
  const last = prompt.at(-1);
  if (!last || last.role === "system") return;
  const part = last.content.at(-1);
  if (part) part.providerOptions = { ...part.providerOptions, ...options };
}

function toJson(value: unknown): JSONValue {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as JSONValue);
}
