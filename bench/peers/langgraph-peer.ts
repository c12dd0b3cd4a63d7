/**
 * LangGraph.js: the agent loop as a StateGraph over the messages state — a model node (the scripted model,
 * answering with an AIMessage that carries tool calls) and a ToolNode running the `echo` tool, joined by the
 * prebuilt `toolsCondition` edge — compiled with the PostgreSQL checkpointer and invoked with
 * `durability: "sync"`, so each superstep's checkpoint is written before the next step starts.
 */
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { ToolNode, toolsCondition } from "@langchain/langgraph/prebuilt";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import pg from "pg";
import { stepDurations } from "../bench-agent.ts";
import { ECHO_INPUT, expectEveryRunCalled, recordToolCall, scriptedDecision } from "./agent-script.ts";
import { type PeerPlan, type PeerSystem, runPhases } from "./peer-system.ts";

export async function openLanggraphPeer(databaseUrl: string, plan: PeerPlan): Promise<PeerSystem> {
  const toolCallTimes = new Map<string, number[]>();
  const pool = new pg.Pool({ connectionString: databaseUrl });
  pool.on("error", () => undefined);
  const checkpointer = new PostgresSaver(pool);
  await checkpointer.setup();

  const echo = tool(
    async ({ step }, runtime) => {
      const threadId = runtime.configurable?.thread_id;
      if (typeof threadId !== "string") throw new Error("echo ran without a thread_id");
      recordToolCall(toolCallTimes, threadId);
      return JSON.stringify({ step });
    },
    { name: "echo", description: "Return the step number it was given.", schema: ECHO_INPUT },
  );
  const model = async (state: typeof MessagesAnnotation.State) => {
    const turn = state.messages.filter((message) => AIMessage.isInstance(message)).length + 1;
    const decision = scriptedDecision(turn, plan.toolSteps);
    const message =
      decision.kind === "answer"
        ? new AIMessage(decision.text)
        : new AIMessage({
            content: "",
            tool_calls: decision.calls.map((call) => ({
              id: call.callId,
              name: call.tool,
              args: call.arguments,
              type: "tool_call" as const,
            })),
          });
    return { messages: [message] };
  };
  const graph = new StateGraph(MessagesAnnotation)
    .addNode("model", model)
    .addNode("tools", new ToolNode([echo]))
    .addEdge(START, "model")
    .addConditionalEdges("model", toolsCondition, ["tools", END])
    .addEdge("tools", "model")
    .compile({ checkpointer });

  const threadIds: string[] = [];
  // A run is the user's message, then per tool step an AI message and a tool message, then the answer.
  const messagesPerRun = 2 + 2 * plan.toolSteps;
  const runOne = async () => {
    const threadId = `thread_${threadIds.length + 1}`;
    threadIds.push(threadId);
    const final = await graph.invoke(
      { messages: [new HumanMessage("benchmark")] },
      {
        configurable: { thread_id: threadId },
        durability: "sync",
        recursionLimit: 2 * plan.toolSteps + 5,
      },
    );
    if (final.messages.length !== messagesPerRun) {
      throw new Error(`a LangGraph run ended with ${final.messages.length} messages, not ${messagesPerRun}`);
    }
  };
  const phases = runPhases({ runOne, toolCallTimes, plan, stepDurations, expectEveryRunCalled });

  return {
    describe: {
      version: "LangGraph.js (@langchain/langgraph) with @langchain/langgraph-checkpoint-postgres",
      checkpoints: 'PostgresSaver, durability "sync"; pg pool of 10, the default',
    },
    ...phases,
    async verify() {
      const { rows } = await pool.query<{ threads: number }>(
        "SELECT count(DISTINCT thread_id)::int AS threads FROM checkpoints",
      );
      if (rows[0]?.threads !== threadIds.length) {
        throw new Error(`${threadIds.length} runs, but checkpoints for ${rows[0]?.threads} threads`);
      }
      // Every run's final state, read back through the checkpointer: finished, with all its messages.
      for (const threadId of threadIds) {
        const state = await graph.getState({ configurable: { thread_id: threadId } });
        const messages = (state.values as typeof MessagesAnnotation.State).messages;
        if (state.next.length > 0 || messages.length !== messagesPerRun) {
          throw new Error(
            `thread ${threadId} was left at ${state.next.join(", ")} with ${messages.length} messages`,
          );
        }
      }
      return `${threadIds.length} threads checkpointed, each finished with ${messagesPerRun} messages`;
    },
    close: async () => await checkpointer.end(),
  };
}
