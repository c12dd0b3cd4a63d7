import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, followEvents } from "../api.ts";
import type { RunEvent } from "./run-events.tsx";

/** Event types after which the run's state (status, answer, cancel) or its trace has changed. */
const CHANGES_RUN = new Set([
  "step-start",
  "run-suspend",
  "run-resume",
  "run-cancel",
  "run-end",
  "approval-decision",
  "child-end",
  "tool-call-end",
]);

/** The text a model turn is writing now, before its `model-call-end` journals it. */
export type Writing = { turn: number; text: string };

/** What the run view knows of a run's journal so far. */
export type RunEvents = {
  events: readonly RunEvent[];
  writing: Writing | null;
  /** The stream ended: the run ended and every event is here. */
  ended: boolean;
  error: ApiError | null;
  /** The approval the run waits for, if its last request is undecided. */
  pendingApproval: string | null;
};

/**
 * Follow a run's journal over SSE (`GET /v1/runs/{id}/events`): journaled events in seq order, once each, and the
 * text a model turn streams before its `model-call-end` journals it. `changed` is called (at most every 250 ms)
 * after events that change what the run view loads besides the journal, so the header and spans follow the run.
 */
export function useRunEvents(path: string, changed: () => void): RunEvents {
  const [state, setState] = useState<RunEvents>(EMPTY);
  const notify = useRef(changed);
  notify.current = changed;
  useEffect(() => {
    setState(EMPTY);
    const controller = new AbortController();
    // What arrived so far, shown at most once a frame: a long run's replay is thousands of events in a burst.
    const seen: RunEvent[] = [];
    let writing: Writing | null = null;
    let pendingApproval: string | null = null;
    let shown: ReturnType<typeof setTimeout> | null = null;
    const show = () => {
      shown ??= setTimeout(() => {
        shown = null;
        setState((previous) => ({ ...previous, events: seen.slice(), writing, pendingApproval }));
      }, 16);
    };
    let reload: ReturnType<typeof setTimeout> | null = null;
    const later = () => {
      reload ??= setTimeout(() => {
        reload = null;
        notify.current();
      }, 250);
    };
    followEvents(
      path,
      (message) => {
        if (message.event === "text-delta") {
          const delta = JSON.parse(message.data) as { turn: number; delta: string };
          writing =
            writing?.turn === delta.turn
              ? { turn: delta.turn, text: writing.text + delta.delta }
              : { turn: delta.turn, text: delta.delta };
          show();
          return;
        }
        const event = JSON.parse(message.data) as RunEvent;
        const last = seen.at(-1);
        if (last && last.seq >= event.seq) return;
        seen.push(event);
        if (event.type === "model-call-end" && writing?.turn === event.payload.step) writing = null;
        pendingApproval = pendingAfter(pendingApproval, event);
        show();
        if (CHANGES_RUN.has(event.type)) later();
      },
      controller.signal,
    ).then(
      () => {
        if (controller.signal.aborted) return;
        writing = null;
        if (shown) clearTimeout(shown);
        shown = null;
        setState((previous) => ({
          ...previous,
          events: seen.slice(),
          writing,
          pendingApproval,
          ended: true,
        }));
      },
      (error: unknown) =>
        setState((previous) => ({
          ...previous,
          error: error instanceof ApiError ? error : new ApiError(0, "internal", String(error)),
        })),
    );
    return () => {
      controller.abort();
      if (shown) clearTimeout(shown);
      if (reload) clearTimeout(reload);
    };
  }, [path]);
  return state;
}

const EMPTY: RunEvents = { events: [], writing: null, ended: false, error: null, pendingApproval: null };

function pendingAfter(pending: string | null, event: RunEvent): string | null {
  switch (event.type) {
    case "approval-request":
      return event.payload.approvalId;
    case "approval-decision":
      return event.payload.final && event.payload.approvalId === pending ? null : pending;
    case "approval-expire":
      return event.payload.outcome === "denied" && event.payload.approvalId === pending ? null : pending;
    case "run-end":
      return null;
    default:
      return pending;
  }
}
