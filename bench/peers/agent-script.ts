/**
 * The agent loop every system runs, defined once: a scripted model that asks for a trivial `echo` tool on each of
 * its first `toolSteps` turns and answers on the next, so a run is `toolSteps + 1` model turns. Each system wires
 * these into its own model and tool abstractions; Keel's side is `createBenchAgent` (bench/bench-agent.ts), which
 * follows the same script.
 */
import { z } from "zod";

/** What the echo tool takes: the model validates nothing, the tool does, as each system's tool layer would. */
export const ECHO_INPUT = z.object({ step: z.number().int() });

export type ScriptedCall = { callId: string; tool: "echo"; arguments: { step: number } };

export type ScriptedDecision =
  | { kind: "tool-calls"; calls: ScriptedCall[] }
  | { kind: "answer"; text: string };

/** The model's decision on `turn` (1-based), chosen by how far the conversation got, so a replay sees the same. */
export function scriptedDecision(turn: number, toolSteps: number): ScriptedDecision {
  return turn <= toolSteps
    ? { kind: "tool-calls", calls: [{ callId: `call_${turn}`, tool: "echo", arguments: { step: turn } }] }
    : { kind: "answer", text: `done after ${toolSteps} steps` };
}

/** Note that run `runId` executed a tool call now; a step is the span between two of a run's calls. */
export function recordToolCall(toolCallTimes: Map<string, number[]>, runId: string): void {
  const times = toolCallTimes.get(runId) ?? [];
  times.push(performance.now());
  toolCallTimes.set(runId, times);
}

/** Throw unless every run in `toolCallTimes` called the tool exactly `toolSteps` times. */
export function expectEveryRunCalled(
  toolCallTimes: ReadonlyMap<string, readonly number[]>,
  runs: number,
  toolSteps: number,
): void {
  const short = [...toolCallTimes].filter(([, times]) => times.length !== toolSteps);
  if (toolCallTimes.size !== runs || short.length > 0) {
    throw new Error(
      `expected ${runs} runs of ${toolSteps} tool calls, saw ${toolCallTimes.size} runs, ${short.length} with another count`,
    );
  }
}
