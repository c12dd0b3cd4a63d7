import { ChatCompletionRequest } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import type { Usage } from "../journal/index.ts";
import type { ModelMessage, ModelToolDefinition, ModelTurn } from "../models/index.ts";

export { ChatCompletionRequest };

/** OpenAI's messages as Keel's: system and developer text joined into the system prompt, tool results bound to calls. */
export function fromChatMessages(messages: ChatCompletionRequest["messages"]): {
  system: string;
  messages: ModelMessage[];
} {
  const system: string[] = [];
  const converted: ModelMessage[] = [];
  const toolNames = new Map<string, string>();
  for (const message of messages) {
    const text = textOf(message.content);
    switch (message.role) {
      case "system":
      case "developer":
        system.push(text);
        break;
      case "user":
        converted.push({ role: "user", content: text });
        break;
      case "assistant": {
        const toolCalls = (message.tool_calls ?? []).map((call) => {
          toolNames.set(call.id, call.function.name);
          return { callId: call.id, tool: call.function.name, arguments: parseJson(call.function.arguments) };
        });
        converted.push({ role: "assistant", content: text, ...(toolCalls.length > 0 ? { toolCalls } : {}) });
        break;
      }
      case "tool": {
        if (!message.tool_call_id) {
          throw new KeelError("invalid_request", "a tool message needs tool_call_id", {
            issues: [{ path: "messages.tool_call_id", message: "required for role tool" }],
          });
        }
        converted.push({
          role: "tool",
          callId: message.tool_call_id,
          tool: message.name ?? toolNames.get(message.tool_call_id) ?? "tool",
          content: parseJson(text),
          isError: false,
        });
        break;
      }
      default: {
        const unreachable: never = message.role;
        throw new KeelError("invalid_request", `unknown role ${String(unreachable)}`);
      }
    }
  }
  return { system: system.join("\n\n"), messages: converted };
}

/** Tools from the request. Their side effects are the client's own, so the response cache treats them as unsafe. */
export function fromChatTools(tools: ChatCompletionRequest["tools"]): ModelToolDefinition[] {
  return (tools ?? []).map((tool) => ({
    name: tool.function.name,
    description: tool.function.description ?? "",
    inputSchema: tool.function.parameters ?? { type: "object", properties: {} },
    sideEffect: true,
  }));
}

/** OpenAI's usage block from Keel's: cached tokens inside prompt tokens, reasoning inside completion tokens. */
export function toChatUsage(usage: Usage) {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cacheReadTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
  };
}

export function toFinishReason(turn: ModelTurn): "stop" | "length" | "tool_calls" | "content_filter" {
  if (turn.decision.kind === "tool-calls") return "tool_calls";
  if (turn.finishReason === "length") return "length";
  if (turn.finishReason === "content-filter") return "content_filter";
  return "stop";
}

export function toChatToolCall(call: { callId: string; tool: string; arguments: unknown }, index?: number) {
  return {
    ...(index === undefined ? {} : { index }),
    id: call.callId,
    type: "function" as const,
    function: { name: call.tool, arguments: JSON.stringify(call.arguments ?? {}) },
  };
}

/** The whole response of a non-streamed completion. */
export function toChatCompletion(options: { id: string; created: number; model: string; turn: ModelTurn }) {
  const { turn } = options;
  const text = turn.decision.kind === "answer" ? turn.decision.text : (turn.decision.text ?? null);
  const toolCalls =
    turn.decision.kind === "tool-calls" ? turn.decision.calls.map((call) => toChatToolCall(call)) : [];
  return {
    id: options.id,
    object: "chat.completion" as const,
    created: options.created,
    model: options.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant" as const,
          content: text,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: toFinishReason(turn),
      },
    ],
    usage: toChatUsage(turn.usage),
  };
}

/** Errors in OpenAI's shape, so OpenAI clients surface them as they would OpenAI's own. */
export function toChatError(error: KeelError): {
  error: { message: string; type: string; code: string; param: null };
} {
  const type =
    error.status === 401
      ? "authentication_error"
      : error.status === 429
        ? error.code === "budget_exceeded"
          ? "insufficient_quota"
          : "rate_limit_error"
        : error.category === "user"
          ? "invalid_request_error"
          : "server_error";
  return { error: { message: error.message, type, code: error.code, param: null } };
}

function textOf(content: ChatCompletionRequest["messages"][number]["content"]): string {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  return content.map((part) => part.text ?? "").join("");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
