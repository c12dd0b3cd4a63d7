import { KeelError } from "../errors/index.ts";
import type { ModelDecision } from "../journal/index.ts";
import type { GenerateOptions, ModelProvider, ModelTurn } from "./model-provider.ts";
import { offlineSummary } from "./offline-summary.ts";

/** One scripted turn: a decision to return, or an error to throw (to exercise failure paths). */
export type ScriptedTurn = ModelDecision | { error: { code: string; message: string } };

/**
 * The `scripted` test double: replays a fixed list of turns. The turn is chosen by how many assistant
 * messages the conversation already has, not by a counter, so a resumed run sees the same script.
 * It is an offline stand-in and reports itself as such.
 */
export function createScriptedModelProvider(options: {
  turns: readonly ScriptedTurn[] | ((request: GenerateOptions) => ScriptedTurn);
  model?: string;
  delayMs?: number;
}): ModelProvider {
  return {
    provider: "scripted",
    model: options.model ?? "scripted",
    offline: true,
    async generate(request: GenerateOptions): Promise<ModelTurn> {
      if (options.delayMs) await abortableDelay(options.delayMs, request.signal);
      // A script lists a run's own turns: a session's summary call is answered offline, outside it.
      const summary = typeof options.turns === "function" ? null : offlineSummary(request);
      if (summary) return summary;
      const turn =
        typeof options.turns === "function" ? options.turns(request) : scriptedTurnAt(options.turns, request);
      if ("error" in turn) throw new KeelError("model_failed", turn.error.message);
      return { decision: turn, usage: { inputTokens: 0, outputTokens: 0 } };
    },
  };
}

function scriptedTurnAt(turns: readonly ScriptedTurn[], request: GenerateOptions): ScriptedTurn {
  // Counted from the run's input (its last user message): a session's run carries earlier turns before it.
  const input = request.messages.findLastIndex((message) => message.role === "user");
  const index = request.messages.slice(input + 1).filter((message) => message.role === "assistant").length;
  const turn = turns[index];
  if (!turn)
    throw new KeelError(
      "model_failed",
      `scripted model has no turn ${index + 1} (script has ${turns.length})`,
    );
  return turn;
}

async function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
