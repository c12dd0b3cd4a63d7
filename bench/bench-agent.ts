import { z } from "zod";
import { createScriptedModelProvider } from "../src/models/scripted-model-provider.ts";
import type { AgentDefinition } from "../src/runtime/agent-definition.ts";
import { defineTool } from "../src/tools/tool.ts";

/** The agent the step benchmarks run, and what it observed while running. */
export type BenchAgent = {
  agent: AgentDefinition;
  /** Steps (tool-calling model turns) each run takes before it answers. */
  steps: number;
  /** When each run's tool calls executed (`performance.now()`), by run id; a step is the span between two. */
  toolCallTimes: Map<string, number[]>;
  /** Model turns that answered, i.e. runs that reached their last turn. */
  answers(): number;
  /** Resolve once `count` answers have been given in total. */
  answered(count: number): Promise<void>;
};

/** Principal the benchmarks start runs as. */
export const BENCH_PRINCIPAL = { subject: "bench", tenant: "default", roles: [] };

/**
 * An agent whose work per step is as small as it gets, so what is left is the runtime's: a scripted model that
 * asks for `steps` calls of a trivial `echo` tool, one per turn, and then answers.
 */
export function createBenchAgent(options: { steps: number; name?: string }): BenchAgent {
  const { steps } = options;
  const toolCallTimes = new Map<string, number[]>();
  let answers = 0;
  let waiters: { count: number; resolve: () => void }[] = [];
  const echo = defineTool({
    name: "echo",
    description: "Return the step number it was given.",
    input: z.object({ step: z.number().int() }),
    async execute({ step }, context) {
      const times = toolCallTimes.get(context.runId) ?? [];
      times.push(performance.now());
      toolCallTimes.set(context.runId, times);
      return { step };
    },
  });
  const scripted = createScriptedModelProvider({
    // A turn is chosen by how far the conversation got, so a resumed run would see the same script.
    turns: (request) => {
      const turn = request.messages.filter((message) => message.role === "assistant").length + 1;
      return turn <= steps
        ? { kind: "tool-calls", calls: [{ callId: `call_${turn}`, tool: "echo", arguments: { step: turn } }] }
        : { kind: "answer", text: `done after ${steps} steps` };
    },
  });
  const agent: AgentDefinition = {
    name: options.name ?? "bench",
    version: "1.0.0",
    versionHash: "sha256:bench",
    description: "benchmark agent",
    owner: { team: "bench" },
    riskTier: 3,
    system: "You run benchmarks.",
    provider: {
      ...scripted,
      async generate(request) {
        const turn = await scripted.generate(request);
        if (turn.decision.kind === "answer") {
          answers += 1;
          waiters = waiters.filter((waiter) => {
            if (answers < waiter.count) return true;
            waiter.resolve();
            return false;
          });
        }
        return turn;
      },
    },
    tools: new Map([[echo.name, echo]]),
    params: {},
    limits: { maxSteps: steps + 1, runTimeout: 10 * 60_000, toolTimeout: 60_000 },
  };
  return {
    agent,
    steps,
    toolCallTimes,
    answers: () => answers,
    answered: async (count) => {
      if (answers >= count) return;
      await new Promise<void>((resolve) => waiters.push({ count, resolve }));
    },
  };
}

/** The spans between consecutive tool calls of each run: one full step each (model turn, journal, tool). */
export function stepDurations(toolCallTimes: ReadonlyMap<string, readonly number[]>): number[] {
  const durations: number[] = [];
  for (const times of toolCallTimes.values()) {
    for (let index = 1; index < times.length; index += 1) durations.push(times[index]! - times[index - 1]!);
  }
  return durations;
}
