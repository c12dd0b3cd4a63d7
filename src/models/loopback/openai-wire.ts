import { chunkText, type LoopbackErrorKind, type LoopbackTurn, type WireProtocol } from "./loopback-turn.ts";

/**
 * OpenAI's Chat Completions API (`POST /v1/chat/completions`), which OpenAI-compatible servers (Ollama, vLLM,
 * llama.cpp, LM Studio) also speak: JSON, and `data:` chunks ending in `[DONE]`, usage in a last chunk.
 */
export const openaiWire: WireProtocol = {
  name: "openai",
  isStream: (_path, body) => body.stream === true,
  modelOf: (_path, body) => String(body.model ?? ""),
  json(turn, model) {
    const toolCalls = (turn.toolCalls ?? []).map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: JSON.stringify(call.arguments) },
    }));
    return {
      id: "chatcmpl-loopback",
      object: "chat.completion",
      created: 1_763_700_000,
      model,
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: turn.text ?? null,
            refusal: null,
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          },
          logprobs: null,
          finish_reason: finishReason(turn),
        },
      ],
      usage: usageBlock(turn),
      system_fingerprint: "fp_loopback",
    };
  },
  sse(turn, model) {
    const base = { id: "chatcmpl-loopback", object: "chat.completion.chunk", created: 1_763_700_000, model };
    const chunk = (delta: unknown, finish: string | null = null) =>
      data({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
    const frames = [chunk({ role: "assistant", content: "" })];
    if (turn.text) for (const content of chunkText(turn.text)) frames.push(chunk({ content }));
    (turn.toolCalls ?? []).forEach((call, index) => {
      frames.push(
        chunk({
          tool_calls: [
            { index, id: call.id, type: "function", function: { name: call.name, arguments: "" } },
          ],
        }),
      );
      for (const piece of chunkText(JSON.stringify(call.arguments), 12)) {
        frames.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
      }
    });
    frames.push(chunk({}, finishReason(turn)));
    frames.push(data({ ...base, choices: [], usage: usageBlock(turn) }));
    frames.push("data: [DONE]\n\n");
    return frames;
  },
  errorBody(kind, _status, message) {
    return { error: { message, type: ERROR_TYPES[kind][0], param: null, code: ERROR_TYPES[kind][1] } };
  },
  streamErrorFrame(message) {
    return data({ error: { message, type: "server_error", param: null, code: null } });
  },
};

const ERROR_TYPES: Record<LoopbackErrorKind, [string, string | null]> = {
  rate_limited: ["requests", "rate_limit_exceeded"],
  overloaded: ["server_error", null],
  server: ["server_error", null],
  context_too_long: ["invalid_request_error", "context_length_exceeded"],
  refused: ["invalid_request_error", "content_policy_violation"],
  auth: ["invalid_request_error", "invalid_api_key"],
  invalid: ["invalid_request_error", null],
};

function finishReason(turn: LoopbackTurn): string {
  if (turn.finish === "length") return "length";
  if (turn.finish === "refusal") return "content_filter";
  return (turn.toolCalls?.length ?? 0) > 0 ? "tool_calls" : "stop";
}

/** OpenAI counts cached tokens inside `prompt_tokens` and reasoning inside `completion_tokens`. */
function usageBlock(turn: LoopbackTurn): Record<string, unknown> {
  if (turn.rawUsage) return turn.rawUsage;
  const usage = turn.usage ?? { input: 10, output: 5 };
  return {
    prompt_tokens: usage.input,
    completion_tokens: usage.output,
    total_tokens: usage.input + usage.output,
    prompt_tokens_details: { cached_tokens: usage.cacheRead ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoning ?? 0 },
  };
}

function data(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}
