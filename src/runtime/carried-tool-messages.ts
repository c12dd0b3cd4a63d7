import type { ModelMessage } from "../models/index.ts";
import type { SessionToolEvent } from "../store/index.ts";
import { WITHHELD_AS_INJECTION, WITHHELD_UNREVIEWED, withheldBy, withholdToolMessage } from "./run-state.ts";

/** The tool messages of one earlier turn of a session: assistant tool-call turns and the tool results they got. */
export type ToolTurnMessages = Extract<ModelMessage, { role: "assistant" | "tool" }>[];

/**
 * The tool turns of a session's earlier runs, by turn, as each run's model read them: every model turn that asked
 * for tools, then each call's result in the order the calls ended (a denied, failed or unknown call as its error, a
 * result a guard withheld as withheld), built from the journal as stored, so redacted as the journal keeps it. Only
 * calls that ended are kept, and a tool-call turn none of whose calls ended is left out, so every carried call has
 * its result and every result its call, as the providers require.
 */
export function toolMessagesByTurn(events: readonly SessionToolEvent[]): Map<number, ToolTurnMessages> {
  const byTurn = new Map<number, ModelMessage[]>();
  const guardReviews = new Map<string, string>();
  for (const event of events) {
    const messages = byTurn.get(event.turn) ?? [];
    byTurn.set(event.turn, messages);
    switch (event.type) {
      case "model-call-end": {
        const decision = event.payload.decision;
        if (decision?.kind !== "tool-calls") break;
        messages.push({
          role: "assistant",
          content: decision.text ?? "",
          toolCalls: decision.calls.map(({ callId, tool, arguments: args }) => ({
            callId,
            tool,
            arguments: args,
          })),
        });
        break;
      }
      case "tool-call-end": {
        const isError = event.payload.outcome === "error";
        messages.push({
          role: "tool",
          callId: event.payload.callId,
          tool: event.payload.tool,
          content: isError ? event.payload.error : event.payload.result,
          isError,
        });
        break;
      }
      case "guard-flag":
        if (event.payload.callId !== undefined)
          withholdToolMessage(messages, event.payload.callId, WITHHELD_AS_INJECTION);
        break;
      case "approval-request":
        if (event.payload.callId !== undefined)
          guardReviews.set(event.payload.approvalId, event.payload.callId);
        break;
      case "approval-decision": {
        const callId = guardReviews.get(event.payload.approvalId);
        if (callId !== undefined) withholdToolMessage(messages, callId, withheldBy(event.payload.by.subject));
        break;
      }
      case "approval-expire": {
        const callId = guardReviews.get(event.payload.approvalId);
        if (callId !== undefined) withholdToolMessage(messages, callId, WITHHELD_UNREVIEWED);
        break;
      }
    }
  }
  const paired = new Map<number, ToolTurnMessages>();
  for (const [turn, messages] of byTurn) {
    const ended = new Set(messages.flatMap((message) => (message.role === "tool" ? [message.callId] : [])));
    const asked = new Set<string>();
    const kept: ToolTurnMessages = [];
    for (const message of messages) {
      if (message.role === "assistant") {
        const calls = (message.toolCalls ?? []).filter((call) => ended.has(call.callId));
        if (calls.length === 0) continue;
        for (const call of calls) asked.add(call.callId);
        kept.push({ ...message, toolCalls: calls });
      } else if (message.role === "tool" && asked.has(message.callId)) kept.push(message);
    }
    if (kept.length > 0) paired.set(turn, kept);
  }
  return paired;
}
