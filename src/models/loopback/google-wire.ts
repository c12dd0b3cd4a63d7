import { chunkText, type LoopbackErrorKind, type LoopbackTurn, type WireProtocol } from "./loopback-turn.ts";

/**
 * Google's Gemini API (`POST /v1beta/models/{model}:generateContent`, and `:streamGenerateContent?alt=sse`
 * whose chunks are whole GenerateContentResponse objects).
 */
export const googleWire: WireProtocol = {
  name: "google",
  isStream: (path) => path.includes(":streamGenerateContent"),
  modelOf: (path) => /models\/([^:]+):/.exec(path)?.[1] ?? "",
  json(turn, model) {
    return response(turn, model, parts(turn), true);
  },
  sse(turn, model) {
    const frames: string[] = [];
    const text = turn.text ? chunkText(turn.text) : [];
    text.forEach((piece, index) => {
      const last = index === text.length - 1 && (turn.toolCalls?.length ?? 0) === 0;
      frames.push(data(response(turn, model, [{ text: piece }], last)));
    });
    if ((turn.toolCalls?.length ?? 0) > 0 || text.length === 0) {
      const calls = (turn.toolCalls ?? []).map((call) => ({
        functionCall: { name: call.name, args: call.arguments },
      }));
      frames.push(data(response(turn, model, calls, true)));
    }
    return frames;
  },
  errorBody(kind, status, message) {
    return { error: { code: status, message, status: STATUS[kind] } };
  },
  streamErrorFrame(message) {
    return data({ error: { code: 503, message, status: "UNAVAILABLE" } });
  },
};

const STATUS: Record<LoopbackErrorKind, string> = {
  rate_limited: "RESOURCE_EXHAUSTED",
  overloaded: "UNAVAILABLE",
  server: "INTERNAL",
  context_too_long: "INVALID_ARGUMENT",
  refused: "INVALID_ARGUMENT",
  auth: "UNAUTHENTICATED",
  invalid: "INVALID_ARGUMENT",
};

function parts(turn: LoopbackTurn): unknown[] {
  return [
    ...(turn.text ? [{ text: turn.text }] : []),
    ...(turn.toolCalls ?? []).map((call) => ({ functionCall: { name: call.name, args: call.arguments } })),
  ];
}

function response(turn: LoopbackTurn, model: string, content: unknown[], last: boolean): unknown {
  return {
    candidates: [
      {
        content: { parts: content, role: "model" },
        ...(last ? { finishReason: finishReason(turn) } : {}),
        index: 0,
      },
    ],
    ...(last ? { usageMetadata: usageBlock(turn) } : {}),
    modelVersion: model,
  };
}

function finishReason(turn: LoopbackTurn): string {
  if (turn.finish === "length") return "MAX_TOKENS";
  if (turn.finish === "refusal") return "SAFETY";
  return "STOP";
}

/** Gemini counts cached tokens inside `promptTokenCount` and thinking apart from `candidatesTokenCount`. */
function usageBlock(turn: LoopbackTurn): Record<string, unknown> {
  if (turn.rawUsage) return turn.rawUsage;
  const usage = turn.usage ?? { input: 10, output: 5 };
  const reasoning = usage.reasoning ?? 0;
  return {
    promptTokenCount: usage.input,
    candidatesTokenCount: usage.output - reasoning,
    totalTokenCount: usage.input + usage.output,
    ...(usage.cacheRead ? { cachedContentTokenCount: usage.cacheRead } : {}),
    ...(reasoning > 0 ? { thoughtsTokenCount: reasoning } : {}),
  };
}

function data(value: unknown): string {
  return `data: ${JSON.stringify(value)}\r\n\r\n`;
}
