import type { NewEvent } from "../journal/index.ts";
import { checkStructuredAnswer } from "./check-structured-answer.ts";
import type { NodeContext } from "./graph.ts";

/**
 * An answer to an agent with an output schema: parsed and validated. A match completes the run with the parsed
 * value; a mismatch is journaled on the call's `model-call-end` (the fold tells the model what was wrong, so the
 * next turn answers again) until `maxRetries` are used, and then fails the run with `output_schema_mismatch`.
 */
export async function endWithStructuredAnswer(
  context: NodeContext,
  options: {
    text: string;
    step: number;
    events: NewEvent[];
    output: NonNullable<NodeContext["agent"]["output"]>;
  },
): Promise<void> {
  const { journal } = context;
  const { events, step } = options;
  const checked = checkStructuredAnswer(options.output.schema, options.text);
  if (checked.ok) {
    events.push({
      type: "run-end",
      payload: {
        status: "completed",
        answer: JSON.stringify(checked.value),
        output: checked.value,
        steps: step,
      },
    });
    await journal.commit(...events);
    return;
  }
  const [end, ...rest] = events;
  if (end?.type !== "model-call-end")
    throw new Error("a served model call's first event is its model-call-end");
  const rejected: NewEvent = { ...end, payload: { ...end.payload, outputRejection: checked.why } };
  const tries = journal.state.outputRejections + 1;
  if (tries <= options.output.maxRetries) {
    await journal.commit(rejected, ...rest);
    return;
  }
  const message = `the answer does not match the agent's output schema after ${tries} ${tries === 1 ? "try" : "tries"}: ${checked.why}`;
  await journal.commit(rejected, ...rest, {
    type: "run-end",
    payload: { status: "failed", error: { code: "output_schema_mismatch", message }, steps: step },
  });
}
