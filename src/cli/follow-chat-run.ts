import type { JournalEvent } from "../journal/index.ts";
import type { ApiClient } from "./api-client.ts";
import { formatEvent } from "./format-event.ts";
import { readSse, type SseMessage } from "./read-sse.ts";

const MAX_VALUE = 160;

/** An approval request a chat's run waits for: what `/approve` and `/reject` act on. */
export type HeldApproval = { id: string; tool: string | undefined; runId: string };

/** How a followed run ended, and what it showed. */
export type FollowedRun = {
  status: string;
  /** The text-delta frames received, in order (the answer's last turn among them). */
  deltas: string[];
};

/**
 * Follow one run of a chat over its event stream until it ends, printing as things happen: the model's text as it
 * is written (`text-delta` frames), each tool call with its arguments as journaled and its outcome, policy denials,
 * a held approval with who may decide and how, and the answer. The journal is the truth: when the answer's streamed
 * text differs from the journaled answer (or nothing streamed), the journaled answer is printed. A run suspended
 * for a person stays followed: the stream goes on once the decision is made.
 */
export async function followChatRun(options: {
  client: ApiClient;
  runId: string;
  /** The speaker's name in front of the answer. */
  agent: string;
  /** Write text as it is (no newline added). */
  write: (text: string) => void;
  onHeld: (approval: HeldApproval) => void;
  onSettled: (approvalId: string) => void;
  signal?: AbortSignal;
}): Promise<FollowedRun> {
  const { client, write } = options;
  /** The text each model turn streamed, by turn. */
  const streamed = new Map<number, string>();
  const deltas: string[] = [];
  const proposed = new Map<string, { tool: string; arguments: unknown }>();
  let midLine = false;
  let lastModelTurn = 0;
  let status = "running";
  const line = (text: string) => {
    write(`${midLine ? "\n" : ""}${text}\n`);
    midLine = false;
  };
  const messages = readSse({
    client,
    path: client.pathOf("runEvents", { params: { id: options.runId } }),
    isLast: (message) => message.event === "run-end",
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const each = async (handle: (message: SseMessage) => void) => {
    try {
      for await (const message of messages) handle(message);
    } catch (error) {
      // Left on purpose (Ctrl-C): the run goes on without this reader.
      if (!options.signal?.aborted) throw error;
    }
  };
  await each((message) => {
    if (message.event === "text-delta") {
      const delta = JSON.parse(message.data) as { delta: string; index: number; turn: number };
      deltas.push(delta.delta);
      const sofar = streamed.get(delta.turn);
      if (sofar === undefined) {
        if (midLine) write("\n");
        write(`${options.agent}> ${delta.index > 0 ? "…" : ""}`);
      }
      streamed.set(delta.turn, (sofar ?? "") + delta.delta);
      write(delta.delta);
      midLine = true;
      return;
    }
    const event = JSON.parse(message.data) as JournalEvent;
    switch (event.type) {
      case "model-call-end":
        lastModelTurn = event.payload.step;
        if (midLine) line("");
        break;
      case "tool-call-propose":
        proposed.set(event.payload.callId, { tool: event.payload.tool, arguments: event.payload.arguments });
        break;
      case "policy-decision":
        if (event.payload.decision === "deny") {
          const call = event.payload.callId === undefined ? undefined : proposed.get(event.payload.callId);
          const what = call ? `${call.tool} ${short(call.arguments)}` : event.payload.action;
          line(`  ✖ ${what} denied by policy: ${event.payload.reasons.join("; ") || event.payload.code}`);
        }
        break;
      case "tool-call-start": {
        const call = proposed.get(event.payload.callId);
        line(
          event.payload.attempt > 1
            ? `  ⚙ ${event.payload.tool} retry (attempt ${event.payload.attempt})`
            : `  ⚙ ${event.payload.tool} ${short(call?.arguments ?? {})}`,
        );
        break;
      }
      case "tool-call-end":
        line(
          event.payload.outcome === "ok"
            ? `    ✔ ${event.payload.tool} ${Math.round(event.payload.durationMs)} ms  ${short(event.payload.result)}`
            : `    ✖ ${event.payload.tool} ${event.payload.error?.code}: ${event.payload.error?.message}`,
        );
        break;
      case "approval-request": {
        const { approvalId, tool, approverRoles, routeTo, requestedBy, requiredApprovals } = event.payload;
        const call = tool ? `${tool} ${short(event.payload.arguments ?? {})}` : event.payload.summary;
        const needs = requiredApprovals > 1 ? ` (${requiredApprovals} approvals needed)` : "";
        line(`  ⏸ ${call} is held for approval ${approvalId}: ${event.payload.reasons.join("; ")}`);
        line(
          `    who may decide: the ${routeTo} queue, anyone with the role ${approverRoles.join(" or ")} except ${requestedBy}${needs}`,
        );
        line(`    decide here: /approve ${approvalId} [comment]  or  /reject ${approvalId} <reason>`);
        line(`    or from another terminal: keel approvals approve ${approvalId}`);
        options.onHeld({ id: approvalId, tool, runId: options.runId });
        break;
      }
      case "run-suspend":
        line(
          event.payload.approvalId
            ? `  … waiting for the decision on ${event.payload.approvalId}; the answer continues here once it is made`
            : (formatEvent(event) ?? ""),
        );
        break;
      case "approval-decision":
      case "approval-expire":
        if (event.type === "approval-expire" || event.payload.final)
          options.onSettled(event.payload.approvalId);
        line(formatEvent(event) ?? "");
        break;
      case "run-end": {
        status = event.payload.status;
        const answer = event.payload.answer;
        const text = streamed.get(lastModelTurn);
        if (answer !== undefined && answer !== text) {
          const note = text === undefined ? "" : "(as journaled) ";
          line(`${options.agent}> ${note}${answer}`);
        }
        if (status !== "completed") {
          const error = event.payload.error;
          line(`  ✖ ${status}${error ? `: ${error.code}: ${error.message}` : ""}`);
        }
        break;
      }
      case "guard-flag":
      case "budget-exceeded":
      case "context-carry":
      case "run-cancel":
      case "signal-receive":
        line(formatEvent(event) ?? "");
        break;
      default:
        break;
    }
  });
  if (midLine) write("\n");
  return { status, deltas };
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? "";
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}
