import { callModel } from "./call-model.ts";
import { carrySessionContext } from "./carry-session-context.ts";
import type { GraphNode, NodeContext } from "./graph.ts";
import { guardInput } from "./guard-input.ts";
import { handOff, handoffReason } from "./hand-off.ts";

/**
 * The model node with the input guard and confidence-based escalation in front of it: before the first turn the
 * run's input is checked for prompt injection (blocked, held for review or flagged as the spec says) and a
 * session's run carries the session's earlier turns as its context policy allows (carry-session-context.ts); when the
 * spec's `escalateWhen` says the run should go to a person (failing tools, invalid output, the step budget about to
 * run out), it hands off instead of asking the model again. A low-confidence answer is caught by the model node
 * itself, before it is final.
 */
export const modelOrHandOff: GraphNode = {
  name: "model",
  async run(context: NodeContext): Promise<void> {
    if (await guardInput(context)) return;
    if (await carrySessionContext(context)) return;
    const reason = handoffReason(
      context.journal.state,
      context.agent.approvals?.escalateWhen,
      context.agent.budgets?.limits.perRun?.usd,
    );
    if (reason !== null) {
      await handOff(context, reason);
      return;
    }
    await callModel.run(context);
  },
};
