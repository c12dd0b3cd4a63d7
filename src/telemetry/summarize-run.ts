import type { PayloadOf, RunStatus } from "../journal/index.ts";
import { parseTraceParent, traceIdOf } from "../journal/index.ts";
import { type OtherEvent, stringField, type TelemetryEvent, timeOf } from "./telemetry-event.ts";

/**
 * What the decision path records per tool: the governor's word (`allowed`, `denied`, `review`), a person's
 * (`approved`, `rejected`), the call's end (`ok`, `failed`), and `retried` when the tool is called again after it
 * failed or was refused, or a call is started again after a crash.
 */
export const PATH_VERBS = [
  "allowed",
  "denied",
  "review",
  "approved",
  "rejected",
  "ok",
  "failed",
  "retried",
] as const;
export type PathVerb = (typeof PATH_VERBS)[number];

/** One run, folded from its journal: the row decision-path search, top-N, percentiles and rollups read. */
export type RunSummary = {
  runId: string;
  traceId: string;
  agent: string;
  agentVersion: string;
  tenant: string;
  status: RunStatus;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  /** Nano-dollars, so sums over millions of runs stay exact. */
  costNanoUsd: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  modelCalls: number;
  toolCalls: number;
  toolErrors: number;
  retries: number;
  /** Cascade escalations to a bigger model plus actions held for a person. */
  escalations: number;
  denials: number;
  errorCode: string | null;
  /** Distinct tools proposed, sorted. */
  tools: string[];
  /** `tool:verb` steps in journal order. */
  path: string[];
  lastSeq: number;
};

/** Fold a run's events (from its `run-start`) into its summary; pure, so a replay gives the same row. */
export function summarizeRun(events: readonly TelemetryEvent[]): RunSummary | null {
  const first = events[0];
  if (first?.type !== "run-start") return null;
  const start = first.payload as PayloadOf<"run-start"> & { traceparent?: string };
  const summary: RunSummary = {
    runId: first.runId,
    traceId: traceIdOf(first.runId, parseTraceParent(start.traceparent)),
    agent: start.agent,
    agentVersion: start.agentVersion,
    tenant: start.principal.tenant,
    status: "queued",
    startedAt: first.at,
    endedAt: null,
    durationMs: null,
    costNanoUsd: 0,
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    modelCalls: 0,
    toolCalls: 0,
    toolErrors: 0,
    retries: 0,
    escalations: 0,
    denials: 0,
    errorCode: null,
    tools: [],
    path: [],
    lastSeq: first.seq,
  };
  const tools = new Set<string>();
  const toolOfCall = new Map<string, string>();
  /** Tools whose latest call failed or was refused: calling one again is a retry. */
  const unsettled = new Set<string>();
  let pendingTool: string | null = null;
  const approvalTools = new Map<string, string>();
  for (const event of events.slice(1)) {
    summary.lastSeq = event.seq;
    switch (event.type) {
      case "step-start":
      case "run-resume":
        summary.status = "running";
        break;
      case "run-suspend":
        summary.status = "suspended";
        pendingTool = event.payload.pendingAction?.tool ?? null;
        break;
      case "model-call-end": {
        summary.modelCalls += 1;
        const usage = event.payload.usage;
        if (usage) {
          summary.inputTokens += usage.inputTokens;
          summary.outputTokens += usage.outputTokens;
          summary.cacheReadTokens += usage.cacheReadTokens ?? 0;
          summary.cacheWriteTokens += usage.cacheWriteTokens ?? 0;
        }
        summary.costNanoUsd += toNano(event.payload.cost?.usd ?? 0);
        summary.escalations += event.payload.escalations?.length ?? 0;
        break;
      }
      case "tool-call-propose":
        tools.add(event.payload.tool);
        toolOfCall.set(event.payload.callId, event.payload.tool);
        if (unsettled.has(event.payload.tool)) {
          summary.retries += 1;
          summary.path.push(`${event.payload.tool}:retried`);
          unsettled.delete(event.payload.tool);
        }
        break;
      case "policy-decision": {
        if (event.payload.callId === undefined) break;
        const tool = event.payload.target ?? toolOfCall.get(event.payload.callId) ?? "unknown";
        const verb: PathVerb =
          event.payload.decision === "allow"
            ? "allowed"
            : event.payload.decision === "deny"
              ? "denied"
              : "review";
        if (verb === "denied") summary.denials += 1;
        if (verb === "review") summary.escalations += 1;
        summary.path.push(`${tool}:${verb}`);
        break;
      }
      case "tool-call-start":
        summary.toolCalls += 1;
        if (event.payload.attempt > 1) {
          summary.retries += 1;
          summary.path.push(`${event.payload.tool}:retried`);
        }
        break;
      case "tool-call-end": {
        const { tool } = event.payload;
        if (event.payload.outcome === "ok") {
          summary.path.push(`${tool}:ok`);
          unsettled.delete(tool);
        } else {
          unsettled.add(tool);
          // A refusal is already on the path as `denied`; anything else is the tool failing.
          if (event.payload.error?.code !== "denied") {
            summary.toolErrors += 1;
            summary.path.push(`${tool}:failed`);
          }
        }
        break;
      }
      case "run-end":
        summary.status = event.payload.status;
        summary.endedAt = event.at;
        summary.durationMs = timeOf(event) - timeOf(first);
        summary.errorCode = event.payload.error?.code ?? null;
        break;
      case "run-start":
      case "model-call-start":
      case "budget-reserve":
      case "budget-settle":
      case "budget-exceeded":
      case "budget-alert":
      case "run-cancel":
        break;
      default: {
        const other = event as OtherEvent;
        const approvalId = stringField(other.payload, "approvalId");
        if (other.type === "approval-request" && approvalId !== undefined) {
          approvalTools.set(approvalId, stringField(other.payload, "tool") ?? pendingTool ?? "unknown");
        } else if (other.type === "approval-decision") {
          const word = (
            stringField(other.payload, "decision") ??
            stringField(other.payload, "outcome") ??
            ""
          ).toLowerCase();
          const final = (other.payload as { final?: unknown }).final !== false;
          const tool =
            stringField(other.payload, "tool") ??
            (approvalId ? approvalTools.get(approvalId) : undefined) ??
            pendingTool ??
            "unknown";
          // One step per settled request: a first of two required approvals is not yet "approved".
          if (word.startsWith("approve") && final) summary.path.push(`${tool}:approved`);
          else if (word.startsWith("reject") || word === "deny") summary.path.push(`${tool}:rejected`);
        }
      }
    }
  }
  summary.tools = [...tools].sort();
  return summary;
}

/** Dollars to whole nano-dollars. */
export function toNano(usd: number): number {
  return Math.round(usd * 1e9);
}
