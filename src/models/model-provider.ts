import type { ModelDecision, ToolCallRequest, Usage } from "../journal/index.ts";

/** One message of the conversation a model sees. Tool results carry the call they answer. */
export type ModelMessage =
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: { callId: string; tool: string; arguments: unknown }[] }
  | { role: "tool"; callId: string; tool: string; content: unknown; isError: boolean };

/**
 * A tool as a model sees it: name, description and a JSON Schema for its arguments. `sideEffect` tells the
 * gateway's response cache that a turn calling this tool must never be answered from the cache.
 */
export type ModelToolDefinition = {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  sideEffect?: boolean;
};

/** Sampling parameters passed through to the model. */
export type ModelParams = {
  temperature?: number | undefined;
  maxOutputTokens?: number | undefined;
  topP?: number | undefined;
};

export type GenerateOptions = {
  system: string;
  messages: readonly ModelMessage[];
  tools: readonly ModelToolDefinition[];
  params: ModelParams;
  signal: AbortSignal;
  /**
   * Groups calls that share a prompt prefix so the provider's prompt cache can find it (OpenAI's
   * `prompt_cache_key`); adapters whose provider caches by explicit breakpoints ignore it.
   */
  promptCacheKey?: string;
  /** False turns provider prompt caching off for this call (it is on by default). */
  promptCaching?: boolean;
  /**
   * How many leading `messages` a session's run carried from its earlier turns (absent: none). The run's own
   * input is the first user message after them; later user messages (an answer sent back for not matching the
   * output schema) are the run's own too. The offline stand-ins read the input and count turns from there.
   */
  carriedMessages?: number;
};

/** Where a run's own messages start: its input, the first user message after those a session carried. */
export function runInputIndex(request: Pick<GenerateOptions, "messages" | "carriedMessages">): number {
  const carried = request.carriedMessages ?? 0;
  const index = request.messages.findIndex((message, at) => at >= carried && message.role === "user");
  return index < 0 ? request.messages.length : index;
}

/** Why the model stopped: finished its turn, asked for tools, ran out of tokens, or refused. */
export type FinishReason = "stop" | "tool-calls" | "length" | "content-filter" | "error" | "other";

export type ModelTurn = { decision: ModelDecision; usage: Usage; finishReason?: FinishReason };

/** What a streaming call yields: text as it arrives, whole tool calls, then the finished turn. */
export type ModelStreamPart =
  | { type: "text-delta"; text: string }
  | { type: "tool-call"; call: ToolCallRequest }
  | { type: "finish"; turn: ModelTurn };

/** The port every model adapter implements: given a conversation, decide the next turn. */
export interface ModelProvider {
  /** Provider name as written in specs (`anthropic`, `rules`, …). */
  readonly provider: string;
  /** The pinned model id. */
  readonly model: string;
  /** True for the offline stand-ins (`rules`, `scripted`), which must be labelled as such wherever reported. */
  readonly offline: boolean;
  generate(options: GenerateOptions): Promise<ModelTurn>;
  /** Stream the turn. Adapters without streaming leave it out; the gateway then yields the whole turn at once. */
  stream?(options: GenerateOptions): AsyncIterable<ModelStreamPart>;
}
