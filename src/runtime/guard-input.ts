import type { NodeContext } from "./graph.ts";
import { describeClasses, injectionActions, inspectForInjection } from "./inspect-for-injection.ts";
import { requestApproval } from "./request-approval.ts";

/**
 * Check the run's input for prompt injection before the first model turn, and act as the spec says: `block` ends
 * the run with an explanation, `review` holds it for a person, `flag` records the finding and carries on. Every
 * finding is journaled as `guard-flag`. Returns true when the run must not go on to the model now.
 */
export async function guardInput(context: NodeContext): Promise<boolean> {
  const { journal } = context;
  const state = journal.state;
  const action = injectionActions(context.agent).input;
  if (action === "off" || state.inputGuarded || state.step > 0) return false;
  const finding = await inspectForInjection({
    agent: context.agent,
    text: state.input,
    action,
    where: { kind: "input" },
    signal: context.signal,
  });
  if (finding === null) return false;
  const what = describeClasses(finding.verdict.classes);
  switch (action) {
    case "flag":
      await journal.commit(finding.event);
      return false;
    case "block":
      await journal.commit(finding.event, {
        type: "run-end",
        payload: {
          status: "failed",
          answer: `I can't act on this request: parts of it read as an attempt at ${what}, so I stopped before doing anything. If it is a genuine request, please send it again without those instructions, or contact support.`,
          error: {
            code: "input_blocked",
            message: `the injection guard blocked the input (score ${finding.verdict.score}, rules ${finding.event.payload.rules.join(", ")})`,
          },
          steps: state.step,
        },
      });
      return true;
    case "review":
      await journal.commit(
        finding.event,
        ...requestApproval(context, {
          kind: "guard",
          inspected: {
            summary: guardSummary(finding.event.payload),
            textHash: finding.textHash,
          },
          reasons: [`the input reads as an attempt at ${what} (score ${finding.verdict.score})`],
          policies: ["guards.input.injection"],
        }),
      );
      return true;
    default: {
      const unreachable: never = action;
      throw new Error(`unknown guard action ${String(unreachable)}`);
    }
  }
}

/** What a reviewer is shown about a finding (the text itself is in the request's context). */
export function guardSummary(payload: {
  where: string;
  score: number;
  rules: string[];
  classes: string[];
  tool?: string | undefined;
}): {
  where: string;
  tool?: string;
  score: number;
  rules: string[];
  classes: string[];
} {
  return {
    where: payload.where,
    ...(payload.tool === undefined ? {} : { tool: payload.tool }),
    score: payload.score,
    rules: [...payload.rules],
    classes: [...payload.classes],
  };
}
