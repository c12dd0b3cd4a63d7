import type { JournalEvent } from "../journal/index.ts";

const MAX_VALUE = 160;

/** One terminal line for a journal event worth showing a person, or null for bookkeeping events. */
export function formatEvent(event: JournalEvent): string | null {
  switch (event.type) {
    case "run-start":
      return `▸ run ${event.runId}  ${event.payload.agent}@${event.payload.agentVersion}`;
    case "model-call-start":
      return null;
    case "model-call-end": {
      const model = `${event.payload.provider}/${event.payload.model}`;
      const decision = event.payload.decision;
      if (event.payload.outcome === "error")
        return `  step ${event.payload.step}  model ${model} ✖ ${event.payload.error?.message ?? ""}`;
      if (decision?.kind === "tool-calls") {
        const calls = decision.calls.map((call) => `${call.tool} ${short(call.arguments)}`).join(", ");
        return `  step ${event.payload.step}  model ${model} → call ${calls}`;
      }
      return `  step ${event.payload.step}  model ${model} → answer`;
    }
    case "tool-call-start":
      return event.payload.attempt > 1
        ? `  step ${event.payload.step}  tool  ${event.payload.tool} retry (attempt ${event.payload.attempt})`
        : null;
    case "tool-call-end": {
      const took = `${Math.round(event.payload.durationMs)} ms`;
      return event.payload.outcome === "ok"
        ? `  step ${event.payload.step}  tool  ${event.payload.tool} ✔ ${took}  ${short(event.payload.result)}`
        : `  step ${event.payload.step}  tool  ${event.payload.tool} ✖ ${event.payload.error?.code}: ${event.payload.error?.message}`;
    }
    case "policy-decision":
      return `  policy ${event.payload.action}: ${event.payload.decision} (${event.payload.reasons.join("; ")})`;
    case "run-resume":
      return `  resumed by ${event.payload.worker}: ${event.payload.reason}`;
    case "run-suspend": {
      const { wait } = event.payload;
      const signals = wait?.signals?.length ? ` signal ${wait.signals.join(" or ")}` : "";
      const time = wait?.until ? `${signals ? " or" : ""} ${wait.until}` : "";
      const children = wait?.children === undefined ? "" : `${signals || time ? " or" : ""} a child run`;
      return `  suspended: ${event.payload.reason}${wait ? ` (waits for${signals}${time}${children})` : ""}`;
    }
    case "approval-request":
      return `  approval ${event.payload.approvalId} requested from ${event.payload.routeTo}: ${event.payload.summary}`;
    case "approval-decision":
      return `  approval ${event.payload.approvalId}: ${event.payload.decision} by ${event.payload.by.subject}${event.payload.edited ? " (arguments edited)" : ""}${event.payload.comment ? ` — ${event.payload.comment}` : ""}`;
    case "approval-expire":
      return `  approval ${event.payload.approvalId} expired: ${event.payload.outcome}${event.payload.routeTo ? ` to ${event.payload.routeTo}` : ""}`;
    case "run-cancel":
      return `  cancel requested by ${event.payload.requestedBy}`;
    case "signal-receive":
      return `  signal ${event.payload.name} from ${event.payload.by.subject}${event.payload.payload === undefined ? "" : `  ${short(event.payload.payload)}`}`;
    case "timer-fire":
      return `  timer due at ${event.payload.dueAt} fired`;
    case "child-start":
      return `  node  ${event.payload.node}${event.payload.branch === undefined ? "" : `.${event.payload.branch}`} started child run ${event.payload.childRunId} (${event.payload.agent})`;
    case "child-end":
      return `  child run ${event.payload.childRunId} ${event.payload.status}${event.payload.error ? `: ${event.payload.error.code}` : ""}`;
    case "branch-end":
      return `  branch ${event.payload.node}.${event.payload.branch} ${event.payload.outcome === "ok" ? "✔" : `✖ ${event.payload.outcome}`}${event.payload.error ? ` ${event.payload.error.code}: ${event.payload.error.message}` : ""}`;
    case "run-end": {
      const head = event.payload.status === "completed" ? "✔ completed" : `✖ ${event.payload.status}`;
      const body =
        event.payload.answer ??
        (event.payload.error ? `${event.payload.error.code}: ${event.payload.error.message}` : "");
      return `${head} after ${event.payload.steps} step${event.payload.steps === 1 ? "" : "s"}\n\n${body}`;
    }
    case "budget-exceeded":
      return `  budget ✖ ${event.payload.message}`;
    case "budget-alert":
      return `  budget ${event.payload.scope} (${event.payload.period}) reached ${Math.round(event.payload.threshold * 100)}%`;
    case "guard-flag":
      return `  guard ${event.payload.action} ${event.payload.where === "input" ? "input" : `${event.payload.tool} result`}: ${event.payload.classes.join(", ")} (score ${event.payload.score}, ${event.payload.rules.join(", ")})`;
    case "context-carry": {
      const { turnsCarried, turnsSummarized, turnsDropped, tokensCarried, window } = event.payload;
      const summarized = turnsSummarized > 0 ? `, ${turnsSummarized} summarized` : "";
      const dropped = turnsDropped > 0 ? `, ${turnsDropped} dropped` : "";
      return `  context session turn ${event.payload.turn}: ${turnsCarried} earlier turn${turnsCarried === 1 ? "" : "s"} carried${summarized}${dropped} (${tokensCarried} of ${window.maxTokens - window.reservedTokens} tokens, ${event.payload.strategy})`;
    }
    case "node-start":
      return null;
    case "node-end": {
      const to = event.payload.next === null ? "" : ` → ${event.payload.next}`;
      return event.payload.outcome === "ok"
        ? `  node  ${event.payload.node} ✔${to}${event.payload.output === undefined ? "" : `  ${short(event.payload.output)}`}`
        : `  node  ${event.payload.node} ✖ ${event.payload.error?.code}: ${event.payload.error?.message}${to}`;
    }
    case "step-start":
    case "tool-call-propose":
    case "budget-reserve":
    case "budget-settle":
      return null;
    default: {
      const unreachable: never = event;
      return (unreachable as JournalEvent).type;
    }
  }
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? "";
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}
