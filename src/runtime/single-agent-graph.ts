import { executeToolCalls } from "./execute-tool-calls.ts";
import { defineGraph } from "./graph.ts";
import { modelOrHandOff } from "./model-or-hand-off.ts";
import { isFinished } from "./run-state.ts";

/**
 * The single-agent tool loop: the model decides, tools run, back to the model until it answers. A suspended run
 * (a call held for review) stops here and waits in the store.
 */
export const singleAgentGraph = defineGraph({
  name: "single-agent",
  nodes: { model: modelOrHandOff, tools: executeToolCalls },
  next(state) {
    if (isFinished(state) || state.status === "suspended") return null;
    return state.toolCalls.some((call) => !call.ended) ? "tools" : "model";
  },
});
