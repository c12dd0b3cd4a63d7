import { useEffect, useState } from "preact/hooks";
import { ApiError, api, followEvents, query } from "../api.ts";
import { ErrorNote, StatusBadge } from "../components.tsx";
import { href } from "../router.ts";

/** Event types worth a line while a run continues (the rest are counted). */
const SHOWN = new Set([
  "run-resume",
  "policy-decision",
  "tool-call-start",
  "tool-call-end",
  "approval-request",
  "run-suspend",
  "run-end",
]);

type Line = { seq: string; text: string };

/**
 * A run followed live after a decision: its journal events from `afterSeq` on (`GET /v1/runs/{id}/events`) until it
 * ends or waits again, then its status, with a link to its whole timeline. The status line is a live region, so a
 * screen reader hears the run end.
 */
export function LiveRunStatus(props: { runId: string; afterSeq: number }) {
  const [status, setStatus] = useState("running");
  const [lines, setLines] = useState<Line[]>([]);
  const [failure, setFailure] = useState<ApiError | null>(null);
  useEffect(() => {
    const stop = new AbortController();
    const path = `/v1/runs/${encodeURIComponent(props.runId)}/events${query({ after: props.afterSeq })}`;
    followEvents(
      path,
      (event) => {
        if (!event.id || !SHOWN.has(event.event)) return;
        const payload = (JSON.parse(event.data) as { payload?: Record<string, unknown> }).payload ?? {};
        setLines((previous) => [...previous, { seq: event.id ?? "", text: describe(event.event, payload) }]);
        if (event.event === "run-end") setStatus(String(payload.status ?? "ended"));
        if (event.event === "run-suspend") {
          setStatus("suspended");
          stop.abort();
        }
      },
      stop.signal,
    )
      .then(async () => {
        if (stop.signal.aborted) return;
        // The stream ends after run-end; the run's own record says how it ended.
        const run = await api<"getRun">(`/v1/runs/${encodeURIComponent(props.runId)}`);
        setStatus(run.status);
      })
      .catch((error: unknown) => {
        if (!stop.signal.aborted)
          setFailure(error instanceof ApiError ? error : new ApiError(0, "stream", String(error)));
      });
    return () => stop.abort();
  }, [props.runId, props.afterSeq]);

  return (
    <div class="live-run">
      <p role="status">
        Run <code>{props.runId}</code>: <StatusBadge status={status} />
        {status === "running" ? " — following it live…" : null}
      </p>
      {lines.length > 0 ? (
        <ol class="live-run-events" aria-label="What the run did since the decision">
          {lines.map((line) => (
            <li key={line.seq}>
              <span class="seq">#{line.seq}</span> {line.text}
            </li>
          ))}
        </ol>
      ) : null}
      <ErrorNote error={failure} />
      <a href={href("runs", props.runId)}>Open the run's timeline</a>
    </div>
  );
}

function describe(type: string, payload: Record<string, unknown>): string {
  switch (type) {
    case "run-resume":
      return `resumed: ${String(payload.reason ?? "")}`;
    case "policy-decision":
      return `governor: ${String(payload.decision ?? "")} ${String(payload.target ?? payload.action ?? "")}`.trim();
    case "tool-call-start":
      return `calling ${String(payload.tool ?? "a tool")}`;
    case "tool-call-end":
      return `${String(payload.tool ?? "tool")} ${payload.outcome === "error" ? "failed" : "returned"}`;
    case "run-suspend":
      return "waiting again for a person";
    case "run-end":
      return `ended ${String(payload.status ?? "")}`;
    default:
      return type;
  }
}
