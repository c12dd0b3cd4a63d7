import type { ModelStreamPart, ModelTurn } from "./model-provider.ts";

/**
 * A whole turn as a stream: its text split into word-sized deltas (each word with the space before it), then its
 * tool calls, then the finished turn. The offline stand-ins stream this way so streaming is tested without a
 * network; `delayMs` between deltas lets a test watch them arrive.
 */
export async function* streamTurnInDeltas(
  turn: ModelTurn,
  options: { signal: AbortSignal; delayMs?: number },
): AsyncGenerator<ModelStreamPart> {
  const text = turn.decision.text ?? "";
  for (const delta of splitIntoDeltas(text)) {
    if (options.delayMs) await abortableDelay(options.delayMs, options.signal);
    options.signal.throwIfAborted();
    yield { type: "text-delta", text: delta };
  }
  if (turn.decision.kind === "tool-calls") {
    for (const call of turn.decision.calls) yield { type: "tool-call", call };
  }
  yield { type: "finish", turn };
}

/** Text split before each run of whitespace, so the deltas concatenate to exactly the text. */
export function splitIntoDeltas(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/** Wait `ms`, or reject with the signal's reason as soon as it is aborted. */
export async function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
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
