import { useState } from "preact/hooks";
import { type Answer, ApiError, api } from "../api.ts";
import { Empty, ErrorNote, JsonBlock, Loading, PageHeader, StatusBadge, useLoad } from "../components.tsx";
import { formatDuration, formatTime } from "../format.ts";
import { href } from "../router.ts";
import { may, useMe } from "../session.ts";
import { readsTelemetry } from "./reads-telemetry.ts";
import { RunTimeline } from "./run-timeline.tsx";
import { SpanWaterfall } from "./run-waterfall.tsx";
import { useRunEvents } from "./use-run-events.ts";

const TERMINAL = new Set(["completed", "failed", "cancelled", "budget_exceeded"]);

/**
 * One run: its state and answer, a cancel for operators while it is active, its timeline of journal events (live
 * while it runs), its span waterfall, scores and child runs. Another tenant's run reads as not found, as the API
 * answers it.
 */
export function RunView(props: { runId: string }) {
  const me = useMe();
  const readers = readsTelemetry(me);
  const path = `/v1/runs/${encodeURIComponent(props.runId)}`;
  const [version, setVersion] = useState(0);
  const live = useRunEvents(`${path}/events`, () => setVersion((value) => value + 1));
  const run = useLoad(() => api<"getRun">(path), [path, version]);
  const trace = useLoad(
    () => (readers ? api<"runTrace">(`${path}/trace`) : Promise.resolve(null)),
    [path, version, readers],
  );
  const scores = useLoad(
    () => (readers ? api<"runScores">(`${path}/scores`) : Promise.resolve(null)),
    [path, live.ended, readers],
  );
  const tree = useLoad(() => api<"getRunTree">(`${path}/tree`), [path, version]);

  if (run.error && (run.error.status === 404 || run.error.status === 400)) {
    return (
      <section>
        <PageHeader title="Run not found" />
        <div class="error-note" role="alert">
          <strong>Not found:</strong> there is no run <code>{props.runId}</code> in tenant{" "}
          <strong>{me.tenant}</strong>. The id may be wrong, or the run belongs to another tenant.
        </div>
        <p>
          <a href={href("runs")}>Back to the runs</a>
        </p>
      </section>
    );
  }
  if (!run.data)
    return run.error ? <ErrorNote error={run.error} retry={run.reload} /> : <Loading what="the run" />;
  const detail = run.data;
  const active = !TERMINAL.has(detail.status);
  return (
    <section class="run-view">
      <PageHeader
        title={`Run ${detail.id}`}
        subtitle={
          <>
            <a href={href("agents", detail.agent)}>
              {detail.agent}@{detail.agentVersion}
            </a>{" "}
            · <StatusBadge status={detail.status} />
          </>
        }
      >
        {active && may(me, "cancel") ? (
          <CancelRun path={path} done={() => setVersion((value) => value + 1)} />
        ) : null}
      </PageHeader>
      <RunSummary run={detail} pendingApproval={live.pendingApproval} />
      <ErrorNote error={run.error} retry={run.reload} />

      <h2 id="timeline-title">Timeline</h2>
      {active && !live.ended ? (
        <p class="live-note" role="status">
          Live: events appear as the run writes them.
        </p>
      ) : null}
      <RunTimeline
        runId={detail.id}
        events={live.events}
        writing={live.writing}
        proofs={readers}
        labelledBy="timeline-title"
      />
      {live.error ? <ErrorNote error={live.error} /> : null}
      {live.events.length === 0 && !live.error ? <Loading what="the timeline" /> : null}

      {tree.data && tree.data.children.length > 0 ? (
        <>
          <h2>Child runs</h2>
          <ChildRuns node={tree.data} />
          {tree.data.truncated ? <p class="hint">The tree is longer than shown.</p> : null}
        </>
      ) : null}

      {readers ? (
        <>
          <h2>Spans</h2>
          <ErrorNote error={trace.error} retry={trace.reload} />
          {trace.data ? (
            <SpanWaterfall spans={trace.data.spans} now={Date.now()} />
          ) : trace.error ? null : (
            <Loading what="the spans" />
          )}
          <h2>Scores and feedback</h2>
          <ErrorNote error={scores.error} retry={scores.reload} />
          {scores.data ? (
            <Scores events={scores.data.events} />
          ) : scores.error ? null : (
            <Loading what="scores" />
          )}
        </>
      ) : null}
    </section>
  );
}

function RunSummary(props: { run: Answer<"getRun">; pendingApproval: string | null }) {
  const { run } = props;
  const ended = TERMINAL.has(run.status);
  return (
    <div class="card run-summary">
      <dl class="run-facts">
        <div>
          <dt>Started</dt>
          <dd>{formatTime(run.createdAt)}</dd>
        </div>
        <div>
          <dt>{ended ? "Ended" : "Last change"}</dt>
          <dd>{formatTime(run.updatedAt)}</dd>
        </div>
        {ended ? (
          <div>
            <dt>Took</dt>
            <dd>{formatDuration(Date.parse(run.updatedAt) - Date.parse(run.createdAt))}</dd>
          </div>
        ) : null}
        <div>
          <dt>Events</dt>
          <dd>{run.events}</dd>
        </div>
        {run.cancelRequest ? (
          <div>
            <dt>Cancel requested</dt>
            <dd>
              by {run.cancelRequest.by}
              {run.cancelRequest.reason ? `: ${run.cancelRequest.reason}` : ""}
            </dd>
          </div>
        ) : null}
      </dl>
      <h2 class="run-part">Input</h2>
      <p class="model-text">{run.input}</p>
      {props.pendingApproval && run.status === "suspended" ? (
        <p class="pending-approval">
          Waiting for a person:{" "}
          <a href={href("approvals", props.pendingApproval)}>approval {props.pendingApproval}</a>
        </p>
      ) : null}
      {run.answer !== null ? (
        <>
          <h2 class="run-part">Answer</h2>
          <p class="model-text run-answer">{run.answer}</p>
        </>
      ) : null}
      {run.output !== undefined ? <JsonBlock value={run.output} label="Structured answer" /> : null}
      {run.error ? (
        <div class="error-note">
          <strong>{run.error.code}:</strong> {run.error.message}
        </div>
      ) : null}
      {run.explanation ? <p class="hint">{run.explanation}</p> : null}
    </div>
  );
}

/** Cancel, asked twice: the first press asks to confirm, the second sends `POST /v1/runs/{id}/cancel`. */
function CancelRun(props: { path: string; done: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [failure, setFailure] = useState<ApiError | null>(null);
  if (!confirming) {
    return (
      <button type="button" class="danger" onClick={() => setConfirming(true)}>
        Cancel run
      </button>
    );
  }
  return (
    <fieldset class="confirm-cancel">
      <legend>Cancel this run? Its tool in flight is aborted.</legend>
      <button
        type="button"
        class="danger"
        onClick={async () => {
          try {
            await api<"cancelRun">(`${props.path}/cancel`, { method: "POST" });
            setConfirming(false);
            props.done();
          } catch (error) {
            setFailure(error instanceof ApiError ? error : new ApiError(0, "internal", String(error)));
          }
        }}
      >
        Yes, cancel it
      </button>
      <button type="button" class="secondary" onClick={() => setConfirming(false)}>
        Keep it running
      </button>
      <ErrorNote error={failure} />
    </fieldset>
  );
}

type TreeNode = Answer<"getRunTree">["children"][number];

function ChildRuns(props: { node: { children: readonly TreeNode[]; moreChildren: boolean } }) {
  return (
    <ul class="run-tree">
      {props.node.children.map((child) => (
        <li key={child.id}>
          <a href={href("runs", child.id)}>
            <code>{child.id}</code>
          </a>{" "}
          {child.agent}@{child.agentVersion} <StatusBadge status={child.status} />
          {child.parentNode ? <span class="hint"> from node {child.parentNode}</span> : null}
          {child.children.length > 0 ? <ChildRuns node={child} /> : null}
        </li>
      ))}
      {props.node.moreChildren ? <li class="hint">and more child runs</li> : null}
    </ul>
  );
}

type ScoreEvent = {
  eventId?: number;
  type?: string;
  at?: string;
  payload?: {
    score?: number;
    passed?: boolean;
    rating?: string;
    comment?: string;
    by?: string;
    source?: string;
    grades?: { name?: string; reason?: string; passed?: boolean }[];
  };
};

function Scores(props: { events: readonly Record<string, unknown>[] }) {
  if (props.events.length === 0) return <Empty>No scores or feedback for this run yet.</Empty>;
  return (
    <table class="scores">
      <caption class="visually-hidden">Scores and feedback of the run</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Kind</th>
          <th scope="col" class="number">
            Score
          </th>
          <th scope="col">Verdict</th>
          <th scope="col">By</th>
          <th scope="col">Note</th>
        </tr>
      </thead>
      <tbody>
        {(props.events as readonly ScoreEvent[]).map((event, index) => {
          const payload = event.payload ?? {};
          const feedback = event.type === "feedback";
          return (
            <tr key={event.eventId ?? index}>
              <td>{formatTime(event.at)}</td>
              <td>{feedback ? "feedback" : "evaluation"}</td>
              <td class="number">{payload.score ?? "—"}</td>
              <td>
                <Verdict good={feedback ? payload.rating === "up" : payload.passed === true}>
                  {feedback
                    ? payload.rating === "up"
                      ? "thumbs up"
                      : "thumbs down"
                    : payload.passed
                      ? "passed"
                      : "did not pass"}
                </Verdict>
              </td>
              <td>{feedback ? payload.by : payload.source}</td>
              <td>
                {feedback
                  ? (payload.comment ?? "")
                  : (payload.grades ?? [])
                      .filter((grade) => grade.passed === false)
                      .map((grade) => `${grade.name ?? "grade"}: ${grade.reason ?? ""}`)
                      .join("; ")}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Verdict(props: { good: boolean; children: string }) {
  return <span class={`badge badge-${props.good ? "good" : "bad"}`}>{props.children}</span>;
}
