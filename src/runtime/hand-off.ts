import type { ModelMessage } from "../models/index.ts";
import type { EscalateWhen } from "../spec/index.ts";
import type { NodeContext } from "./graph.ts";
import { requestApproval } from "./request-approval.ts";
import type { RunState } from "./run-state.ts";

/** Phrases by which a model says it is unsure, for `lowConfidence: true`. */
const UNSURE =
  /\b(not (?:sure|certain|confident)|unsure|i (?:do not|don't) know|cannot (?:determine|tell|be sure)|low confidence)\b/i;

/** Tool errors that mean the tool keeps failing (not a refusal by a policy or a person). */
const FAILURES = new Set([
  "tool_failed",
  "tool_timeout",
  "interrupted",
  "invalid_tool_output",
  "unknown_tool",
]);

type EscalationRules = EscalateWhen;

/**
 * Why the run should hand itself to a person before its next model turn, or null: tool calls keep failing, the
 * model's tool arguments keep failing their schema, or the step or cost budget is about to run out.
 */
export function handoffReason(
  state: RunState,
  rules: EscalationRules | undefined,
  runCapUsd?: number,
): string | null {
  if (!rules) return null;
  if (rules.budgetRemaining !== undefined && runCapUsd !== undefined && runCapUsd > 0) {
    const left = runCapUsd - state.spentUsd;
    if (left < runCapUsd * rules.budgetRemaining) {
      return `the run has spent ${state.spentUsd.toFixed(4)} of its ${runCapUsd} USD budget`;
    }
  }
  if (
    rules.stepsRemaining !== undefined &&
    !state.modelCallOpen &&
    state.step >= state.maxSteps - rules.stepsRemaining
  ) {
    return `the run has used ${state.step} of its ${state.maxSteps} steps without finishing`;
  }
  const failures = trailingToolErrors(state.messages, (code) => FAILURES.has(code));
  if (rules.toolFailures !== undefined && failures.count >= rules.toolFailures) {
    return `${failures.count} tool calls in a row failed (last: ${failures.last})`;
  }
  const invalid = trailingToolErrors(state.messages, (code) => code === "invalid_tool_arguments");
  if (rules.invalidOutput !== undefined && invalid.count >= rules.invalidOutput) {
    return `the model's tool calls failed validation ${invalid.count} times in a row (last: ${invalid.last})`;
  }
  return null;
}

/** Why an answer should go to a person instead of the user, or null: the model says it is unsure. */
export function lowConfidenceReason(text: string, rules: EscalationRules | undefined): string | null {
  const setting = rules?.lowConfidence;
  if (setting === undefined || setting === false) return null;
  const pattern = setting === true ? UNSURE : new RegExp(setting, "i");
  return pattern.test(text) ? "the model reported low confidence in its answer" : null;
}

/** How many of the latest tool results, counting back, are errors of this kind, and the last one's message. */
function trailingToolErrors(
  messages: readonly ModelMessage[],
  counts: (code: string) => boolean,
): { count: number; last: string } {
  let count = 0;
  let last = "";
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index]!;
    if (message.role === "assistant") continue;
    if (message.role !== "tool" || !message.isError) break;
    const error = message.content as { code?: string; message?: string } | undefined;
    if (!error?.code || !counts(error.code)) break;
    count += 1;
    if (count === 1) last = `${message.tool}: ${error.message ?? error.code}`;
  }
  return { count, last };
}

/** Suspend the run with a handoff request carrying its full context; a person resolves it. */
export async function handOff(context: NodeContext, reason: string): Promise<void> {
  await context.journal.commit(
    ...requestApproval(context, { kind: "handoff", reasons: [reason], policies: ["approvals.escalateWhen"] }),
  );
}
