import assert from "node:assert/strict";
import type { JournalEvent } from "../../src/journal/index.ts";
import { createScriptedModelProvider } from "../../src/models/index.ts";
import type { AgentDefinition } from "../../src/runtime/index.ts";
import type { Tool } from "../../src/tools/index.ts";
import { scriptedAgent } from "./scripted-agent.ts";

/** An agent whose model calls `tool` once with `args`, then answers with (the start of) what the call returned. */
export function callingAgent(
  tools: readonly Tool[],
  tool: string,
  args: Record<string, unknown>,
  name = "desk",
): AgentDefinition {
  return {
    ...scriptedAgent({ name, turns: [], tools }),
    provider: createScriptedModelProvider({
      turns: (request) =>
        request.messages.at(-1)?.role === "tool"
          ? { kind: "answer", text: String(request.messages.at(-1)?.content).slice(0, 200) }
          : { kind: "tool-calls", calls: [{ callId: "c1", tool, arguments: args }] },
    }),
  };
}

/** The payload of a run's (first) `tool-call-end`. */
export function toolEnd(events: readonly JournalEvent[]) {
  const end = events.find((event) => event.type === "tool-call-end");
  assert.ok(end?.type === "tool-call-end", "the run ended a tool call");
  return end.payload;
}
