import type { LanguageModelV3Content, LanguageModelV3FinishReason } from "@ai-sdk/provider";
import type { ModelDecision, ToolCallRequest } from "../journal/index.ts";
import type { FinishReason } from "./model-provider.ts";

/** The model's content as Keel's decision: tool calls when it asked for any, otherwise its text as the answer. */
export function mapAiSdkContent(content: readonly LanguageModelV3Content[]): ModelDecision {
  const text = content
    .filter((part) => part.type === "text")
    .map((part) => part.text)
    .join("");
  const calls = content.filter((part) => part.type === "tool-call").map((part) => toToolCall(part));
  return toDecision(text, calls);
}

/** A decision from streamed text and collected tool calls. */
export function toDecision(text: string, calls: readonly ToolCallRequest[]): ModelDecision {
  if (calls.length > 0) {
    return { kind: "tool-calls", calls: [...calls], ...(text.length > 0 ? { text } : {}) };
  }
  return { kind: "answer", text };
}

/** A provider's tool call (arguments as a JSON string) as Keel's (arguments parsed). */
export function toToolCall(part: { toolCallId: string; toolName: string; input: string }): ToolCallRequest {
  let args: unknown;
  try {
    args = part.input.trim().length === 0 ? {} : JSON.parse(part.input);
  } catch {
    // Arguments that are not JSON reach the tool node, which reports them to the model as invalid arguments.
    args = { _unparsed: part.input };
  }
  return { callId: part.toolCallId, tool: part.toolName, arguments: args };
}

export function mapFinishReason(reason: LanguageModelV3FinishReason): FinishReason {
  return reason.unified;
}
