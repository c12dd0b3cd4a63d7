import type { ErrorInfo, JournalEvent } from "../journal/index.ts";

/** One tool call of a run, as graders see it: what was asked, what the governor said, whether it ran. */
export type ToolCallOutcome = {
  tool: string;
  arguments: unknown;
  decision: "allow" | "review" | "deny" | null;
  /** The call started (the tool was executed). */
  executed: boolean;
  outcome: "ok" | "error" | null;
};

/** What a case's run did, read from its journal: the facts every grader works from. */
export type CaseOutcome = {
  runId: string | null;
  status: string;
  answer: string | null;
  error: ErrorInfo | null;
  toolCalls: ToolCallOutcome[];
  /**
   * What people did with the run's held actions: a final approval, a rejection, a handoff they resolved, or a
   * request that expired and was denied.
   */
  approvals: ("approved" | "rejected" | "resolved" | "expired")[];
  /** A workflow run's path: the nodes it entered, in order (one entry per visit); empty for an agent's run. */
  nodes: string[];
  steps: number;
  costUsd: number;
  latencyMs: number;
};

/**
 * Read a run's outcome from its events. Latency is the wall time from `run-start` to the last event, taken
 * from the store's timestamps, unless the caller measured it.
 */
export function outcomeFromEvents(
  events: readonly JournalEvent[],
  options: { latencyMs?: number } = {},
): CaseOutcome {
  const calls = new Map<string, ToolCallOutcome>();
  const approvals: CaseOutcome["approvals"] = [];
  const nodes: string[] = [];
  let status = "running";
  let answer: string | null = null;
  let error: ErrorInfo | null = null;
  let steps = 0;
  let costUsd = 0;
  for (const event of events) {
    switch (event.type) {
      case "run-suspend":
        status = "suspended";
        break;
      case "run-resume":
        status = "running";
        break;
      case "step-start":
        steps = Math.max(steps, event.payload.step);
        break;
      case "node-start":
        nodes.push(event.payload.node);
        break;
      case "model-call-end":
        costUsd += event.payload.cost?.usd ?? 0;
        break;
      case "tool-call-propose":
        calls.set(event.payload.callId, {
          tool: event.payload.tool,
          arguments: event.payload.arguments,
          decision: null,
          executed: false,
          outcome: null,
        });
        break;
      case "policy-decision": {
        const call = event.payload.callId ? calls.get(event.payload.callId) : undefined;
        if (call && event.payload.action === "tool-call") call.decision = event.payload.decision;
        break;
      }
      case "tool-call-start": {
        const call = calls.get(event.payload.callId);
        if (call) call.executed = true;
        break;
      }
      case "tool-call-end": {
        const call = calls.get(event.payload.callId);
        if (call) call.outcome = event.payload.outcome;
        break;
      }
      case "run-end":
        status = event.payload.status;
        answer = event.payload.answer ?? null;
        error = event.payload.error ?? null;
        steps = Math.max(steps, event.payload.steps);
        break;
      case "approval-decision":
        if (event.payload.decision === "reject") approvals.push("rejected");
        else if (event.payload.final)
          approvals.push(event.payload.decision === "resolve" ? "resolved" : "approved");
        break;
      case "approval-expire":
        if (event.payload.outcome === "denied") approvals.push("expired");
        break;
      default:
        break;
    }
  }
  const first = events[0];
  const last = events.at(-1);
  const measured =
    first && last && first.at && last.at ? Math.max(0, Date.parse(last.at) - Date.parse(first.at)) : 0;
  return {
    runId: first?.runId ?? null,
    status,
    answer,
    error,
    toolCalls: [...calls.values()],
    approvals,
    nodes,
    steps,
    costUsd,
    latencyMs: options.latencyMs ?? measured,
  };
}
