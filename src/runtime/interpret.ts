import type { Graph, NodeContext } from "./graph.ts";
import { interruptOf, isPause } from "./run-interrupt.ts";
import { isFinished } from "./run-state.ts";

/**
 * Drive a run through a graph until it finishes or is interrupted. A cancel or timeout ends the run with a
 * journaled reason (a requested cancel's `run-cancel`, who asked and why, just before its `run-end`); a shutdown or
 * lost lease stops writing and leaves the run to be resumed.
 */
export async function interpret(graph: Graph, context: NodeContext): Promise<void> {
  const { journal, signal } = context;
  while (!isFinished(journal.state)) {
    if (signal.aborted) break;
    const name = graph.next(journal.state);
    if (name === null) break;
    const node = graph.nodes[name];
    if (!node) throw new Error(`graph ${graph.name} has no node "${name}"`);
    await node.run(context);
  }
  if (isFinished(journal.state) || isPause(signal)) return;
  const interrupt = interruptOf(signal);
  if (interrupt?.kind === "cancel") {
    // Who asked for the cancel, and why, is journaled with the run-end it causes, in the same commit.
    if (interrupt.request) {
      const { by, reason } = interrupt.request;
      journal.stage({
        type: "run-cancel",
        payload: { requestedBy: by, ...(reason === undefined ? {} : { reason }) },
      });
    }
    await journal.commit({
      type: "run-end",
      payload: {
        status: "cancelled",
        error: { code: "cancelled", message: interrupt.message },
        steps: journal.state.step,
      },
    });
  } else if (interrupt?.kind === "timeout") {
    await journal.commit({
      type: "run-end",
      payload: {
        status: "failed",
        error: { code: "run_timeout", message: interrupt.message },
        steps: journal.state.step,
      },
    });
  } else {
    await journal.commit();
  }
}
