import type { NewEvent } from "../journal/events.ts";
import { hashPayload } from "../journal/hash.ts";
import { toolInputJsonSchema } from "../tools/execute-tool-call.ts";
import type { GraphNode, NodeContext } from "./graph.ts";
import { isPause } from "./run-interrupt.ts";

/**
 * The model node: one model turn. It stages the step's start, asks the model, and journals the decision (and
 * the tool calls it proposes, or the final answer) before anything acts on it.
 */
export const callModel: GraphNode = {
  name: "model",
  async run({ agent, journal, signal }: NodeContext): Promise<void> {
    const state = journal.state;
    const { provider } = agent;
    if (!state.modelCallOpen) {
      if (state.step >= state.maxSteps) {
        await journal.commit({
          type: "run-end",
          payload: {
            status: "failed",
            error: {
              code: "max_steps_exceeded",
              message: `the agent used all ${state.maxSteps} steps without answering`,
            },
            steps: state.step,
          },
        });
        return;
      }
      journal.stage(
        { type: "step-start", payload: { step: state.step + 1, node: "model" } },
        {
          type: "model-call-start",
          payload: {
            step: state.step + 1,
            provider: provider.provider,
            model: provider.model,
            offline: provider.offline,
          },
        },
      );
    }
    const step = state.step;
    const base = { step, provider: provider.provider, model: provider.model };
    const started = performance.now();
    let turn: Awaited<ReturnType<typeof provider.generate>>;
    try {
      turn = await provider.generate({
        system: agent.system,
        messages: state.messages,
        tools: [...agent.tools.values()].map((tool) => ({
          name: tool.name,
          description: tool.description,
          inputSchema: toolInputJsonSchema(tool),
        })),
        params: agent.params,
        signal,
      });
    } catch (error) {
      if (signal.aborted) {
        if (!isPause(signal)) await journal.commit();
        return;
      }
      const info = { code: "model_failed", message: error instanceof Error ? error.message : String(error) };
      await journal.commit(
        {
          type: "model-call-end",
          payload: { ...base, outcome: "error", error: info, durationMs: performance.now() - started },
        },
        { type: "run-end", payload: { status: "failed", error: info, steps: step } },
      );
      return;
    }
    const durationMs = performance.now() - started;
    const events: NewEvent[] = [
      {
        type: "model-call-end",
        payload: { ...base, outcome: "ok", decision: turn.decision, usage: turn.usage, durationMs },
      },
    ];
    if (turn.decision.kind === "answer") {
      events.push({
        type: "run-end",
        payload: { status: "completed", answer: turn.decision.text, steps: step },
      });
      await journal.commit(...events);
      return;
    }
    for (const call of turn.decision.calls) {
      events.push({
        type: "tool-call-propose",
        payload: {
          step,
          callId: call.callId,
          tool: call.tool,
          arguments: call.arguments,
          argumentsHash: hashPayload(call.arguments),
        },
      });
    }
    // The proposals need not be durable on their own: the tool node's first commit carries them.
    journal.stage(...events);
  },
};
