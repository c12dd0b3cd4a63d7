import { chunkText, type LoopbackErrorKind, type LoopbackTurn, type WireProtocol } from "./loopback-turn.ts";

/** Anthropic's Messages API (`POST /v1/messages`): JSON and the event-typed SSE stream. */
export const anthropicWire: WireProtocol = {
  name: "anthropic",
  isStream: (_path, body) => body.stream === true,
  modelOf: (_path, body) => String(body.model ?? ""),
  json(turn, model) {
    return {
      id: "msg_loopback",
      type: "message",
      role: "assistant",
      model,
      content: [
        ...(turn.text ? [{ type: "text", text: turn.text }] : []),
        ...(turn.toolCalls ?? []).map((call) => ({
          type: "tool_use",
          id: call.id,
          name: call.name,
          input: call.arguments,
        })),
      ],
      stop_reason: stopReason(turn),
      stop_sequence: null,
      usage: usageBlock(turn),
    };
  },
  sse(turn, model) {
    const usage = usageBlock(turn);
    const frames = [
      frame("message_start", {
        type: "message_start",
        message: {
          id: "msg_loopback",
          type: "message",
          role: "assistant",
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...usage, output_tokens: 1 },
        },
      }),
      frame("ping", { type: "ping" }),
    ];
    let index = 0;
    if (turn.text) {
      frames.push(
        frame("content_block_start", {
          type: "content_block_start",
          index,
          content_block: { type: "text", text: "" },
        }),
      );
      for (const text of chunkText(turn.text)) {
        frames.push(
          frame("content_block_delta", {
            type: "content_block_delta",
            index,
            delta: { type: "text_delta", text },
          }),
        );
      }
      frames.push(frame("content_block_stop", { type: "content_block_stop", index }));
      index += 1;
    }
    for (const call of turn.toolCalls ?? []) {
      frames.push(
        frame("content_block_start", {
          type: "content_block_start",
          index,
          content_block: { type: "tool_use", id: call.id, name: call.name, input: {} },
        }),
      );
      for (const partial of chunkText(JSON.stringify(call.arguments), 12)) {
        frames.push(
          frame("content_block_delta", {
            type: "content_block_delta",
            index,
            delta: { type: "input_json_delta", partial_json: partial },
          }),
        );
      }
      frames.push(frame("content_block_stop", { type: "content_block_stop", index }));
      index += 1;
    }
    frames.push(
      frame("message_delta", {
        type: "message_delta",
        delta: { stop_reason: stopReason(turn), stop_sequence: null },
        usage: { output_tokens: usage.output_tokens },
      }),
      frame("message_stop", { type: "message_stop" }),
    );
    return frames;
  },
  errorBody(kind, _status, message) {
    return { type: "error", error: { type: ERROR_TYPES[kind], message } };
  },
  streamErrorFrame(message) {
    return frame("error", { type: "error", error: { type: "overloaded_error", message } });
  },
};

const ERROR_TYPES: Record<LoopbackErrorKind, string> = {
  rate_limited: "rate_limit_error",
  overloaded: "overloaded_error",
  server: "api_error",
  context_too_long: "invalid_request_error",
  refused: "invalid_request_error",
  auth: "authentication_error",
  invalid: "invalid_request_error",
};

function stopReason(turn: LoopbackTurn): string {
  if (turn.finish === "length") return "max_tokens";
  if (turn.finish === "refusal") return "refusal";
  return (turn.toolCalls?.length ?? 0) > 0 ? "tool_use" : "end_turn";
}

/** Anthropic counts `input_tokens` without the cached part, which it reports beside it. */
function usageBlock(turn: LoopbackTurn): Record<string, number> & { output_tokens: number } {
  if (turn.rawUsage) return turn.rawUsage as Record<string, number> & { output_tokens: number };
  const usage = turn.usage ?? { input: 10, output: 5 };
  const cacheRead = usage.cacheRead ?? 0;
  const cacheWrite = usage.cacheWrite ?? 0;
  return {
    input_tokens: usage.input - cacheRead - cacheWrite,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    output_tokens: usage.output,
  };
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
