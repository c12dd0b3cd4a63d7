import { useEffect, useRef, useState } from "preact/hooks";
import { type Answer, api, query } from "../api.ts";
import { Empty, ErrorNote, JsonBlock, Loading, PageHeader, StatusBadge, useLoad } from "../components.tsx";
import { formatDuration, formatTime } from "../format.ts";
import { href, navigate } from "../router.ts";
import { may, useMe } from "../session.ts";
import { ApprovalDecision, DecisionOutcome } from "./approval-decision.tsx";

type Request = Answer<"listApprovals">["approvals"][number];
type Detail = Answer<"getApproval">;
type Decided = Answer<"decideApproval">;

/** The queue's sections, most urgent first; within one, the API's order (soonest due first). */
const PRIORITIES = ["urgent", "high", "normal", "low"] as const;
const STATUSES = ["pending", "approved", "rejected", "expired", "resolved", "withdrawn", "all"] as const;
const FILTERS = ["status", "kind", "team", "agent", "tool", "overdue"] as const;
/** What a request asks a person for, as the API names it. */
const KINDS = ["tool-call", "draft", "handoff", "guard", "task", "delegation"] as const;

/**
 * The approvals inbox: the tenant's queue (`GET /v1/approvals`, filtered by the URL's query) by priority and due
 * time, and the selected request (`#/approvals/<id>`) with everything an approver needs to decide it, and the
 * decision itself for callers who may decide.
 */
export function ApprovalsView(props: { query: URLSearchParams; approvalId?: string }) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, props.query.get(name) ?? ""]));
  const queue = useLoad(
    () =>
      api<"listApprovals">(
        `/v1/approvals${query({ ...filters, overdue: filters.overdue === "true" ? "true" : undefined, limit: 200 })}`,
      ),
    [props.query.toString()],
  );
  return (
    <section>
      <PageHeader
        title="Approvals"
        subtitle="Held calls waiting for a person, most urgent first, then soonest due."
      >
        <button type="button" class="secondary" onClick={queue.reload}>
          Refresh
        </button>
      </PageHeader>
      <QueueFilters filters={filters} approvalId={props.approvalId} />
      <div class="inbox">
        <div class="inbox-queue">
          {queue.error ? <ErrorNote error={queue.error} retry={queue.reload} /> : null}
          {queue.data ? (
            <Queue requests={queue.data.approvals} selected={props.approvalId} query={props.query} />
          ) : queue.loading ? (
            <Loading what="the queue" />
          ) : null}
        </div>
        <div class="inbox-detail">
          {props.approvalId ? (
            <RequestDetail id={props.approvalId} onDecided={queue.reload} />
          ) : (
            <Empty>Choose a request to see the held call and decide it.</Empty>
          )}
        </div>
      </div>
    </section>
  );
}

function QueueFilters(props: { filters: Record<string, string>; approvalId: string | undefined }) {
  const [fields, setFields] = useState(props.filters);
  useEffect(() => setFields(props.filters), [JSON.stringify(props.filters)]);
  const set = (name: string, value: string) => setFields({ ...fields, [name]: value });
  return (
    <form
      class="filters"
      aria-label="Filter the queue"
      onSubmit={(event) => {
        event.preventDefault();
        const parts = props.approvalId ? ["approvals", props.approvalId] : ["approvals"];
        navigate(href(...parts, fields));
      }}
    >
      <div class="field">
        <label for="queue-status">Status</label>
        <select
          id="queue-status"
          value={fields.status || "pending"}
          onChange={(event) => set("status", event.currentTarget.value)}
        >
          {STATUSES.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="queue-kind">Kind</label>
        <select
          id="queue-kind"
          value={fields.kind ?? ""}
          onChange={(event) => set("kind", event.currentTarget.value)}
        >
          <option value="">any kind</option>
          {KINDS.map((kind) => (
            <option key={kind} value={kind}>
              {kind}
            </option>
          ))}
        </select>
      </div>
      {(["team", "agent", "tool"] as const).map((name) => (
        <div class="field" key={name}>
          <label for={`queue-${name}`}>
            {name === "team" ? "Team (queue)" : name[0]?.toUpperCase() + name.slice(1)}
          </label>
          <input
            id={`queue-${name}`}
            value={fields[name] ?? ""}
            onInput={(event) => set(name, event.currentTarget.value)}
          />
        </div>
      ))}
      <div class="field checkbox">
        <input
          id="queue-overdue"
          type="checkbox"
          checked={fields.overdue === "true"}
          onChange={(event) => set("overdue", event.currentTarget.checked ? "true" : "")}
        />
        <label for="queue-overdue">Overdue only</label>
      </div>
      <button type="submit" class="secondary">
        Apply
      </button>
    </form>
  );
}

/**
 * The queue as lists of links, one list per priority: Tab reaches each request, the arrow keys move between them,
 * Home and End jump to the first and last, and Enter opens one.
 */
function Queue(props: {
  requests: readonly Request[];
  selected: string | undefined;
  query: URLSearchParams;
}) {
  const list = useRef<HTMLDivElement>(null);
  if (props.requests.length === 0) return <Empty>No requests match: the queue is clear.</Empty>;
  const search = Object.fromEntries(props.query.entries());
  const move = (event: KeyboardEvent) => {
    const links = [...(list.current?.querySelectorAll<HTMLAnchorElement>("a.queue-item") ?? [])];
    const at = links.indexOf(document.activeElement as HTMLAnchorElement);
    const target =
      event.key === "ArrowDown"
        ? links[Math.min(links.length - 1, at + 1)]
        : event.key === "ArrowUp"
          ? links[Math.max(0, at - 1)]
          : event.key === "Home"
            ? links[0]
            : event.key === "End"
              ? links.at(-1)
              : undefined;
    if (target && at >= 0) {
      event.preventDefault();
      target.focus();
    }
  };
  return (
    <nav class="queue" aria-label="Approval queue" ref={list} onKeyDown={move}>
      <p class="hint" id="queue-help">
        {props.requests.length} request{props.requests.length === 1 ? "" : "s"}. Arrow keys move between
        requests; Enter opens one.
      </p>
      {PRIORITIES.map((priority) => {
        const requests = props.requests.filter((request) => request.priority === priority);
        if (requests.length === 0) return null;
        return (
          <section key={priority} aria-labelledby={`queue-${priority}`}>
            <h2 id={`queue-${priority}`} class="queue-priority">
              {priority[0]?.toUpperCase() + priority.slice(1)} <span class="count">({requests.length})</span>
            </h2>
            <ul>
              {requests.map((request) => (
                <li key={request.id}>
                  <a
                    class="queue-item"
                    href={href("approvals", request.id, search)}
                    aria-current={request.id === props.selected ? "true" : undefined}
                    aria-describedby="queue-help"
                  >
                    <span class="queue-summary">{request.summary}</span>
                    <span class="queue-meta">
                      {request.agent} · {request.tool ?? request.kind} · {request.routeTo}
                    </span>
                    <span class="queue-meta">
                      {request.status === "pending" ? (
                        <Due request={request} />
                      ) : (
                        <StatusBadge status={request.status} />
                      )}
                      {request.requiredApprovals > 1
                        ? ` · ${request.approvers.length}/${request.requiredApprovals} approvals`
                        : null}
                    </span>
                  </a>
                </li>
              ))}
            </ul>
          </section>
        );
      })}
    </nav>
  );
}

/** When a pending request falls due, and whether it already has. */
function Due(props: { request: Request }) {
  const left = new Date(props.request.expiresAt).getTime() - Date.now();
  if (props.request.overdue || left <= 0) {
    return (
      <span>
        <span class="badge badge-bad">overdue</span> by {formatDuration(-left)} (due{" "}
        {formatTime(props.request.expiresAt)})
      </span>
    );
  }
  return (
    <span>
      due in {formatDuration(left)} ({formatTime(props.request.expiresAt)})
    </span>
  );
}

/** One request (`GET /v1/approvals/{id}`): what was held and why, who may decide, and what was decided so far. */
function RequestDetail(props: { id: string; onDecided: () => void }) {
  const me = useMe();
  const detail = useLoad(
    () => api<"getApproval">(`/v1/approvals/${encodeURIComponent(props.id)}`),
    [props.id],
  );
  const heading = useRef<HTMLHeadingElement>(null);
  const opened = useRef<string | null>(null);
  const [decided, setDecided] = useState<Decided | null>(null);
  // A request opened from the queue takes focus, so a keyboard user lands on what they chose.
  useEffect(() => {
    if (detail.data && opened.current !== detail.data.id) {
      if (opened.current !== null || document.activeElement?.classList.contains("queue-item")) {
        heading.current?.focus();
      }
      opened.current = detail.data.id;
    }
  }, [detail.data?.id]);
  if (detail.error && !detail.data) return <ErrorNote error={detail.error} retry={detail.reload} />;
  if (!detail.data) return <Loading what="the request" />;
  const request: Detail = detail.data;
  return (
    <article class="request card" aria-labelledby="request-title">
      <h2 id="request-title" tabIndex={-1} ref={heading}>
        {request.summary}
      </h2>
      <p class="request-status">
        <StatusBadge status={request.status} /> <span class="badge badge-muted">{request.priority}</span>{" "}
        {request.kind} <code>{request.id}</code>
      </p>
      <dl class="facts">
        <dt>Agent</dt>
        <dd>
          <a href={href("agents", request.agent)}>{request.agent}</a> {request.agentVersion}
        </dd>
        <dt>Run</dt>
        <dd>
          <a href={href("runs", request.runId)}>{request.runId}</a> (step {request.context.step})
        </dd>
        <dt>Requested</dt>
        <dd>
          {formatTime(request.requestedAt)} for {request.requestedBy}
        </dd>
        <dt>Due</dt>
        <dd>
          {request.status === "pending" ? <Due request={request} /> : formatTime(request.expiresAt)}; then{" "}
          {request.onTimeout === "escalate" ? "escalated" : "denied"}
          {request.escalations > 0 ? ` (escalated ${request.escalations}×)` : ""}
        </dd>
        {request.decidedAt ? (
          <>
            <dt>Decided</dt>
            <dd>
              {formatTime(request.decidedAt)} by {request.decidedBy}
            </dd>
          </>
        ) : null}
      </dl>

      <h3>Why it was held</h3>
      <ul>
        {request.reasons.map((reason) => (
          <li key={reason}>{reason}</li>
        ))}
      </ul>
      {request.policies.length > 0 ? (
        <p>
          Policies:{" "}
          {request.policies.map((policy, index) => (
            <span key={policy}>
              {index > 0 ? ", " : ""}
              <code>{policy}</code>
            </span>
          ))}
        </p>
      ) : null}

      <h3>The held call</h3>
      {request.tool ? (
        <p>
          <code>{request.tool}</code>
          {request.edited ? " (edited by an approver)" : ""}, arguments as shown to approvers (secrets
          masked):
        </p>
      ) : null}
      <JsonBlock value={request.arguments} label={`Arguments of ${request.tool ?? request.kind}`} />
      {request.form !== undefined ? (
        <JsonBlock value={request.form} label="The form to fill in (JSON Schema)" />
      ) : null}
      {request.argumentsHash ? (
        <p class="hint">
          Bound to hash <code>{request.argumentsHash.slice(0, 16)}…</code>; an approval names it.
        </p>
      ) : null}

      <h3>Who may decide</h3>
      <p>
        Queue <strong>{request.routeTo}</strong>; anyone holding{" "}
        {request.approverRoles.map((role, index) => (
          <span key={role}>
            {index > 0 ? " or " : ""}
            <code>{role}</code>
          </span>
        ))}
        , except {request.requestedBy}, who asked for it.
      </p>
      {request.requiredApprovals > 1 ? (
        <p class="two-person">
          <strong>Two-person rule:</strong> {request.requiredApprovals} different people must approve the same
          arguments — {request.approvers.length} so far
          {request.approvers.length > 0 ? ` (${request.approvers.join(", ")})` : ""}.
        </p>
      ) : null}

      <RunContext context={request.context} />
      <PriorDecisions request={request} />

      {decided?.id === request.id ? (
        <DecisionOutcome decided={decided} />
      ) : request.status !== "pending" ? null : may(me, "decide") ? (
        <ApprovalDecision
          request={request}
          onDecided={(outcome) => {
            setDecided(outcome);
            detail.reload();
            props.onDecided();
          }}
        />
      ) : (
        <p class="hint">
          Your roles ({me.roles.join(", ")}) may read the queue but not decide; an approver's key can.
        </p>
      )}
    </article>
  );
}

function RunContext(props: { context: Detail["context"] }) {
  const { context } = props;
  return (
    <details class="run-context">
      <summary>The run's context</summary>
      <dl class="facts">
        <dt>Input</dt>
        <dd>{context.input}</dd>
        <dt>Acting for</dt>
        <dd>
          {context.principal.subject} (tenant {context.principal.tenant})
        </dd>
        <dt>Data classes</dt>
        <dd>{context.dataClasses.length > 0 ? context.dataClasses.join(", ") : "—"}</dd>
      </dl>
      {context.recent.length > 0 ? (
        <ol class="recent-turns">
          {context.recent.map((turn, index) => (
            <li key={index}>{turn}</li>
          ))}
        </ol>
      ) : null}
    </details>
  );
}

function PriorDecisions(props: { request: Detail }) {
  const { decisions, expiries } = props.request;
  if (decisions.length === 0 && expiries.length === 0) return null;
  return (
    <>
      <h3>Decisions so far</h3>
      <ol class="decisions">
        {decisions.map((decision) => (
          <li key={`${decision.at}-${decision.by.subject}`}>
            <StatusBadge
              status={
                decision.decision === "approve"
                  ? "approved"
                  : decision.decision === "reject"
                    ? "rejected"
                    : decision.decision
              }
            />{" "}
            by {decision.by.subject} at {formatTime(decision.at)}
            {decision.edited ? " — with edited arguments" : ""}
            {decision.comment ? <q>{decision.comment}</q> : null}
          </li>
        ))}
        {expiries.map((expiry) => (
          <li key={`expiry-${expiry.at}`}>
            <StatusBadge status={expiry.outcome} /> when its SLA ran out, {formatTime(expiry.at)}
            {expiry.routeTo ? ` → ${expiry.routeTo}` : ""}
          </li>
        ))}
      </ol>
    </>
  );
}
