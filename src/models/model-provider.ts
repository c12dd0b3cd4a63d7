import type { ModelDecision, Usage } from "../journal/events.ts";

/** One message of the conversation a model sees. Tool results carry the call they answer. */
export type ModelMessage =
  | { role: "user"; content: string }
  | { role: "assistant"; content: string; toolCalls?: { callId: string; tool: string; arguments: unknown }[] }
  | { role: "tool"; callId: string; tool: string; content: unknown; isError: boolean };

/** A tool as a model sees it: name, description and a JSON Schema for its arguments. */
export type ModelToolDefinition = { name: string; description: string; inputSchema: Record<string, unknown> };

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
};

export type ModelTurn = { decision: ModelDecision; usage: Usage };

/** The port every model adapter implements: given a conversation, decide the next turn. */
export interface ModelProvider {
  /** Provider name as written in specs (`anthropic`, `rules`, …). */
  readonly provider: string;
  /** The pinned model id. */
  readonly model: string;
  /** True for the offline stand-ins (`rules`, `scripted`), which must be labelled as such wherever reported. */
  readonly offline: boolean;
  generate(options: GenerateOptions): Promise<ModelTurn>;
}
