import { callModel } from "./call-model.ts";
import type { GraphNode, NodeContext } from "./graph.ts";
import { handOff, handoffReason } from "./hand-off.ts";

/**
 * The model node with confidence-based escalation in front of it: when the spec's `escalateWhen` says the run
 * should go to a person (failing tools, invalid output, the step budget about to run out), it hands off instead
 * of asking the model again. A low-confidence answer is caught by the model node itself, before it is final.
 */
export const modelOrHandOff: GraphNode = {
  name: "model",
  async run(context: NodeContext): Promise<void> {
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
