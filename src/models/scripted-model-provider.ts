import { KeelError } from "../errors/index.ts";
import type { ModelDecision } from "../journal/index.ts";
import { type GenerateOptions, type ModelProvider, type ModelTurn, runInputIndex } from "./model-provider.ts";
import { offlineSummary } from "./offline-summary.ts";
import { abortableDelay, streamTurnInDeltas } from "./stream-turn-in-deltas.ts";

/** One scripted turn: a decision to return, or an error to throw (to exercise failure paths). */
export type ScriptedTurn = ModelDecision | { error: { code: string; message: string } };

/**
 * The `scripted` test double: replays a fixed list of turns. The turn is chosen by how many assistant
 * messages the conversation already has, not by a counter, so a resumed run sees the same script.
 * It is an offline stand-in and reports itself as such. Streamed, a turn's text arrives word by word, `deltaDelayMs`
 * apart.
 */
export function createScriptedModelProvider(options: {
  turns: readonly ScriptedTurn[] | ((request: GenerateOptions) => ScriptedTurn);
  model?: string;
  delayMs?: number;
  deltaDelayMs?: number;
}): ModelProvider {
  async function generate(request: GenerateOptions): Promise<ModelTurn> {
    if (options.delayMs) await abortableDelay(options.delayMs, request.signal);
    // A script lists a run's own turns: a session's summary call is answered offline, outside it.
    const summary = typeof options.turns === "function" ? null : offlineSummary(request);
    if (summary) return summary;
    const turn =
      typeof options.turns === "function" ? options.turns(request) : scriptedTurnAt(options.turns, request);
    if ("error" in turn) throw new KeelError("model_failed", turn.error.message);
    return { decision: turn, usage: { inputTokens: 0, outputTokens: 0 } };
  }
  return {
    provider: "scripted",
    model: options.model ?? "scripted",
    offline: true,
    generate,
    // Through `this`, so a wrapper that replaces `generate` (to count or record calls) sees streamed turns too.
    async *stream(request) {
      const turn = await this.generate(request);
      yield* streamTurnInDeltas(turn, {
        signal: request.signal,
        ...(options.deltaDelayMs === undefined ? {} : { delayMs: options.deltaDelayMs }),
      });
    },
  };
}

function scriptedTurnAt(turns: readonly ScriptedTurn[], request: GenerateOptions): ScriptedTurn {
  // Counted from the run's input: a session's run carries earlier turns before it.
  const input = runInputIndex(request);
  const index = request.messages.slice(input + 1).filter((message) => message.role === "assistant").length;
  const turn = turns[index];
  if (!turn)
    throw new KeelError(
      "model_failed",
      `scripted model has no turn ${index + 1} (script has ${turns.length})`,
    );
  return turn;
}
