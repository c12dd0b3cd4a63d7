import type { NewEvent } from "../../src/journal/index.ts";
import { hashPayload } from "../../src/journal/index.ts";

/**
 * The journal of a run's first step up to a proposed tool call — the step, the scripted model's turn asking for
 * call `c1` and its proposal — as a worker that then died would have written it. A test appends these (and the
 * attempts it wants to have started) under a lease to stage a run that a new worker must resume.
 */
export function proposedCallEvents(tool: string, args: Record<string, unknown>): NewEvent[] {
  return [
    { type: "step-start", payload: { step: 1, node: "model" } },
    {
      type: "model-call-start",
      payload: { step: 1, provider: "scripted", model: "scripted", offline: true },
    },
    {
      type: "model-call-end",
      payload: {
        step: 1,
        provider: "scripted",
        model: "scripted",
        outcome: "ok",
        decision: { kind: "tool-calls", calls: [{ callId: "c1", tool, arguments: args }] },
        usage: { inputTokens: 0, outputTokens: 0 },
        durationMs: 1,
      },
    },
    {
      type: "tool-call-propose",
      payload: { step: 1, callId: "c1", tool, arguments: args, argumentsHash: hashPayload(args) },
    },
  ];
}
