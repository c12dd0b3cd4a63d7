import type { ModelTurn } from "./model-provider.ts";
import type { CascadePolicy } from "./model-route.ts";

/** Why a cascade tier's turn is not good enough to keep, or null to accept it. */
export function escalationReason(
  turn: ModelTurn,
  cascade: CascadePolicy,
  validate: ((turn: ModelTurn) => string | null) | undefined,
): string | null {
  const { escalateOn } = cascade;
  if (escalateOn.truncated && turn.finishReason === "length")
    return "the output was cut off at its token limit";
  if (escalateOn.invalidOutput) {
    if (turn.decision.kind === "answer" && turn.decision.text.trim().length === 0)
      return "the answer was empty";
    const invalid = validate?.(turn) ?? null;
    if (invalid !== null) return `the output failed validation: ${invalid}`;
  }
  if (escalateOn.lowConfidence) {
    const text = turn.decision.kind === "answer" ? turn.decision.text : (turn.decision.text ?? "");
    if (escalateOn.lowConfidence.test(text)) return "the model reported low confidence";
  }
  return null;
}
