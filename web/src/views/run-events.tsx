import type { ComponentChildren } from "preact";
import type { Answer } from "../api.ts";
import { JsonBlock, StatusBadge } from "../components.tsx";
import { formatCount, formatDuration, formatTime, formatUsd } from "../format.ts";
import { href } from "../router.ts";

/** A journal event as the API sends it (its payload typed by its `type`). */
export type RunEvent = Answer<"runJournal">["events"][number];

/** An event in words: what happened (its type, as a person says it) and what it meant. */
export type EventMeaning = { title: string; detail: ComponentChildren; bookkeeping?: boolean };

/**
 * What an event means, as `keel runs show` words it: the governor's decision with its effect and reasons, model
 * calls with tokens and cost, tool calls with their (already redacted) arguments and results, approvals, guard
 * findings, errors and the run's end. Bookkeeping events (a step or call starting, budget reservations) are marked
 * so the timeline can fold them away.
 */
export function describeEvent(event: RunEvent): EventMeaning {
  const label = (what: string) => `${what} (event ${event.seq})`;
  switch (event.type) {
    case "run-start": {
      const { payload } = event;
      return {
        title: "Run started",
        detail: (
          <>
            <p>
              {payload.agent}@{payload.agentVersion} for <strong>{payload.principal.subject}</strong> (tenant{" "}
              {payload.principal.tenant}), at most {payload.maxSteps} steps, deadline{" "}
              {formatTime(payload.deadlineAt)}.
            </p>
            {payload.parent ? (
              <p>
                Started by run <a href={href("runs", payload.parent.runId)}>{payload.parent.runId}</a> at node{" "}
                <code>{payload.parent.node}</code>.
              </p>
            ) : null}
            {payload.session ? (
              <p>
                Message {payload.session.turn} of session <code>{payload.session.sessionId}</code>.
              </p>
            ) : null}
          </>
        ),
      };
    }
    case "context-carry": {
      const { payload } = event;
      return {
        title: "Session context carried",
        detail: (
          <p>
            {payload.turnsCarried} earlier turn{payload.turnsCarried === 1 ? "" : "s"} carried
            {payload.turnsSummarized > 0 ? `, ${payload.turnsSummarized} summarized` : ""}
            {payload.turnsDropped > 0 ? `, ${payload.turnsDropped} dropped` : ""} (
            {formatCount(payload.tokensCarried)} of{" "}
            {formatCount(payload.window.maxTokens - payload.window.reservedTokens)} tokens, {payload.strategy}
            ).
          </p>
        ),
      };
    }
    case "step-start":
      return { title: `Step ${event.payload.step} started`, detail: null, bookkeeping: true };
    case "model-call-start": {
      const { payload } = event;
      return {
        title: "Model call started",
        bookkeeping: true,
        detail: (
          <p>
            {payload.provider}/{payload.model}
            {payload.offline ? " (offline stand-in)" : ""}
            {payload.phase ? `, ${payload.phase.replace(/_/g, " ")}` : ""}
            {payload.routing ? ` — routed: ${payload.routing.reason}` : ""}
          </p>
        ),
      };
    }
    case "model-call-end": {
      const { payload } = event;
      const decision = payload.decision;
      return {
        title:
          payload.outcome === "ok"
            ? `Model call, step ${payload.step}`
            : `Model call failed, step ${payload.step}`,
        detail: (
          <>
            <p>
              {payload.provider}/{payload.model}
              {payload.phase ? ` (${payload.phase.replace(/_/g, " ")})` : ""} ·{" "}
              {formatDuration(payload.durationMs)}
              {payload.usage
                ? ` · ${formatCount(payload.usage.inputTokens)} tokens in, ${formatCount(payload.usage.outputTokens)} out`
                : ""}
              {payload.cost ? ` · ${formatUsd(payload.cost.usd)}` : ""}
              {payload.usageEstimated ? " (estimated)" : ""}
              {payload.responseCache === "hit" ? " · answered from the response cache" : ""}
            </p>
            {payload.error ? (
              <p class="event-error">
                {payload.error.code}: {payload.error.message}
              </p>
            ) : null}
            {decision?.kind === "tool-calls" ? (
              <p>
                Asked for{" "}
                {decision.calls.map((call, index) => (
                  <span key={call.callId}>
                    {index > 0 ? ", " : ""}
                    <code>{call.tool}</code>
                  </span>
                ))}
                {decision.text ? ` — “${decision.text}”` : ""}
              </p>
            ) : null}
            {decision?.kind === "answer" ? <p class="model-text">{decision.text}</p> : null}
            {payload.outputRejection ? (
              <p>Answer refused by the output schema: {payload.outputRejection}</p>
            ) : null}
          </>
        ),
      };
    }
    case "tool-call-propose": {
      const { payload } = event;
      return {
        title: payload.revision ? "Tool call edited by an approver" : "Tool call proposed",
        detail: (
          <>
            <p>
              <code>{payload.tool}</code> (call <code>{payload.callId}</code>)
              {payload.revision ? `, edited by ${payload.revision.by}` : ""}
            </p>
            <JsonBlock value={payload.arguments} label={label(`Arguments of ${payload.tool}`)} />
          </>
        ),
      };
    }
    case "policy-decision": {
      const { payload } = event;
      const effect =
        payload.decision === "allow" ? "allowed" : payload.decision === "deny" ? "denied" : "held for review";
      return {
        title: "Governor decision",
        detail: (
          <>
            <p>
              <StatusBadge status={payload.decision} /> <code>{payload.action}</code>
              {payload.target ? (
                <>
                  {" "}
                  on <code>{payload.target}</code>
                </>
              ) : null}{" "}
              {effect}
              {payload.stage ? ` at the ${payload.stage} stage` : ""}
              {payload.code ? ` (${payload.code})` : ""}
              {payload.retry ? ", decided again on retry" : ""}
            </p>
            {payload.reasons.length > 0 ? (
              <ul class="reasons">
                {payload.reasons.map((reason) => (
                  <li key={reason}>{reason}</li>
                ))}
              </ul>
            ) : null}
            {payload.policies?.length ? <p class="hint">Policies: {payload.policies.join(", ")}</p> : null}
            {payload.shadow ? (
              <p class="hint">
                Shadow policies would have decided {payload.shadow.decision}:{" "}
                {payload.shadow.reasons.join("; ")}
              </p>
            ) : null}
          </>
        ),
      };
    }
    case "tool-call-start": {
      const { payload } = event;
      return {
        title: payload.attempt > 1 ? `Tool call retried (attempt ${payload.attempt})` : "Tool call started",
        detail: (
          <p>
            <code>{payload.tool}</code> (call <code>{payload.callId}</code>)
          </p>
        ),
        bookkeeping: payload.attempt === 1,
      };
    }
    case "tool-call-end": {
      const { payload } = event;
      return {
        title: payload.outcome === "ok" ? "Tool call ended" : "Tool call failed",
        detail: (
          <>
            <p>
              <code>{payload.tool}</code>{" "}
              <StatusBadge status={payload.outcome === "ok" ? "completed" : "failed"} /> in{" "}
              {formatDuration(payload.durationMs)}
              {payload.reconciled ? ", its effect found by reconciliation" : ""}
              {payload.dataClasses?.length ? ` · data: ${payload.dataClasses.join(", ")}` : ""}
            </p>
            {payload.error ? (
              <p class="event-error">
                {payload.error.code}: {payload.error.message}
              </p>
            ) : null}
            {payload.result !== undefined ? (
              <JsonBlock value={payload.result} label={label(`Result of ${payload.tool}`)} />
            ) : null}
          </>
        ),
      };
    }
    case "budget-reserve":
      return {
        title: "Budget reserved",
        detail: <p>{formatUsd(event.payload.usd)} reserved for the next model call</p>,
        bookkeeping: true,
      };
    case "budget-settle":
      return {
        title: "Budget settled",
        detail: <p>{formatUsd(event.payload.usd)} spent</p>,
        bookkeeping: true,
      };
    case "budget-exceeded":
      return { title: "Budget exceeded", detail: <p class="event-error">{event.payload.message}</p> };
    case "budget-alert":
      return {
        title: "Budget alert",
        detail: (
          <p>
            The {event.payload.scope} budget ({event.payload.period}) reached{" "}
            {Math.round(event.payload.threshold * 100)}%: {formatUsd(event.payload.spentUsd)} spent.
          </p>
        ),
      };
    case "node-start":
      return {
        title: `Workflow node ${event.payload.node} entered`,
        detail: (
          <p>
            {event.payload.kind} node, visit {event.payload.visit}
          </p>
        ),
        bookkeeping: true,
      };
    case "node-end": {
      const { payload } = event;
      return {
        title: `Workflow node ${payload.node} ${payload.outcome === "ok" ? "done" : "failed"}`,
        detail: (
          <>
            <p>{payload.next === null ? "The workflow ends here." : `Next: ${payload.next}.`}</p>
            {payload.error ? (
              <p class="event-error">
                {payload.error.code}: {payload.error.message}
              </p>
            ) : null}
            {payload.output !== undefined ? (
              <JsonBlock value={payload.output} label={label(`Output of node ${payload.node}`)} />
            ) : null}
          </>
        ),
      };
    }
    case "child-start":
      return {
        title: "Child run started",
        detail: (
          <p>
            Node <code>{event.payload.node}</code>
            {event.payload.branch === undefined ? "" : `.${event.payload.branch}`} started{" "}
            <a href={href("runs", event.payload.childRunId)}>{event.payload.childRunId}</a> (
            {event.payload.agent})
          </p>
        ),
      };
    case "child-end":
      return {
        title: "Child run ended",
        detail: (
          <p>
            <a href={href("runs", event.payload.childRunId)}>{event.payload.childRunId}</a>{" "}
            <StatusBadge status={event.payload.status} />
            {event.payload.error ? ` ${event.payload.error.code}: ${event.payload.error.message}` : ""}
          </p>
        ),
      };
    case "branch-end":
      return {
        title: `Branch ${event.payload.node}.${event.payload.branch} ${event.payload.outcome}`,
        detail: event.payload.error ? (
          <p class="event-error">
            {event.payload.error.code}: {event.payload.error.message}
          </p>
        ) : null,
      };
    case "run-suspend": {
      const { payload } = event;
      return {
        title: "Run suspended",
        detail: (
          <p>
            {payload.reason}
            {payload.approvalId ? (
              <>
                {" "}
                — waits for <a href={href("approvals", payload.approvalId)}>approval {payload.approvalId}</a>
              </>
            ) : null}
            {payload.wait?.signals?.length ? ` — waits for signal ${payload.wait.signals.join(" or ")}` : ""}
            {payload.wait?.until ? ` — until ${formatTime(payload.wait.until)}` : ""}
          </p>
        ),
      };
    }
    case "approval-request": {
      const { payload } = event;
      return {
        title: "Approval requested",
        detail: (
          <>
            <p>
              <a href={href("approvals", payload.approvalId)}>{payload.approvalId}</a>: {payload.summary} —
              sent to <strong>{payload.routeTo}</strong>, {payload.priority} priority,{" "}
              {payload.requiredApprovals} approval
              {payload.requiredApprovals === 1 ? "" : "s"} needed, due {formatTime(payload.expiresAt)}.
            </p>
            {payload.reasons.length > 0 ? (
              <ul class="reasons">
                {payload.reasons.map((reason) => (
                  <li key={reason}>{reason}</li>
                ))}
              </ul>
            ) : null}
            {payload.arguments !== undefined ? (
              <JsonBlock
                value={payload.arguments}
                label={label(`Arguments held for approval ${payload.approvalId}`)}
              />
            ) : null}
          </>
        ),
      };
    }
    case "approval-decision": {
      const { payload } = event;
      return {
        title: "Approval decided",
        detail: (
          <p>
            <a href={href("approvals", payload.approvalId)}>{payload.approvalId}</a>:{" "}
            <StatusBadge
              status={
                payload.decision === "approve"
                  ? "approved"
                  : payload.decision === "reject"
                    ? "rejected"
                    : "completed"
              }
            />{" "}
            by <strong>{payload.by.subject}</strong>
            {payload.edited ? " (arguments edited)" : ""}
            {payload.final
              ? ""
              : `, ${payload.approvals} approval${payload.approvals === 1 ? "" : "s"} so far`}
            {payload.comment ? ` — “${payload.comment}”` : ""}
          </p>
        ),
      };
    }
    case "approval-expire":
      return {
        title: "Approval expired",
        detail: (
          <p>
            <a href={href("approvals", event.payload.approvalId)}>{event.payload.approvalId}</a>{" "}
            {event.payload.outcome}
            {event.payload.routeTo ? ` to ${event.payload.routeTo}` : ""}
          </p>
        ),
      };
    case "guard-flag": {
      const { payload } = event;
      const action =
        payload.action === "block"
          ? "blocked"
          : payload.action === "review"
            ? "held for a person"
            : "flagged";
      return {
        title: "Guard finding",
        detail: (
          <p>
            {payload.where === "input" ? "The run's input" : `The result of ${payload.tool ?? "a tool"}`}{" "}
            {action}: {payload.classes.join(", ") || "no class"} (score {payload.score} against{" "}
            {payload.threshold}, {payload.detector}
            {payload.rules.length > 0 ? `; rules ${payload.rules.join(", ")}` : ""})
          </p>
        ),
      };
    }
    case "run-resume":
      return { title: "Run resumed", detail: <p>{event.payload.reason}</p> };
    case "run-cancel":
      return {
        title: "Cancel requested",
        detail: (
          <p>
            by {event.payload.requestedBy}
            {event.payload.reason ? `: ${event.payload.reason}` : ""}
          </p>
        ),
      };
    case "signal-receive":
      return {
        title: `Signal ${event.payload.name} received`,
        detail: (
          <>
            <p>from {event.payload.by.subject}</p>
            {event.payload.payload !== undefined ? (
              <JsonBlock
                value={event.payload.payload}
                label={label(`Payload of signal ${event.payload.name}`)}
              />
            ) : null}
          </>
        ),
      };
    case "timer-fire":
      return { title: "Timer fired", detail: <p>due at {formatTime(event.payload.dueAt)}</p> };
    case "run-end": {
      const { payload } = event;
      return {
        title: "Run ended",
        detail: (
          <>
            <p>
              <StatusBadge status={payload.status} /> after {payload.steps} step
              {payload.steps === 1 ? "" : "s"}
            </p>
            {payload.error ? (
              <p class="event-error">
                {payload.error.code}: {payload.error.message}
              </p>
            ) : null}
            {payload.answer !== undefined ? <p class="model-text">{payload.answer}</p> : null}
          </>
        ),
      };
    }
    default: {
      const unknown: never = event;
      return { title: (unknown as RunEvent).type, detail: null };
    }
  }
}
