import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.ts";

/** What a view loads: its data once it has it, the error if loading failed, and a way to load it again. */
export type Loaded<T> = { data: T | null; error: ApiError | null; loading: boolean; reload: () => void };

/**
 * Load data for a view and load it again whenever `key` changes (a filter, an id). A load that finishes after a
 * newer one started is dropped, so a slow answer never replaces a fresher one.
 */
export function useLoad<T>(load: () => Promise<T>, key: readonly unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | null; error: ApiError | null; loading: boolean }>({
    data: null,
    error: null,
    loading: true,
  });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    setState((previous) => ({ ...previous, loading: true }));
    load().then(
      (data) => {
        if (mine === generation.current) setState({ data, error: null, loading: false });
      },
      (error: unknown) => {
        if (mine !== generation.current) return;
        const failure =
          error instanceof ApiError
            ? error
            : new ApiError(0, "internal", (error as Error)?.message ?? String(error));
        setState((previous) => ({ data: previous.data, error: failure, loading: false }));
      },
    );
  }, key);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

/** A view's title, with what it is about and actions on the right. */
export function PageHeader(props: {
  title: string;
  subtitle?: ComponentChildren;
  children?: ComponentChildren;
}) {
  return (
    <header class="page-header">
      <div>
        <h1>{props.title}</h1>
        {props.subtitle ? <p class="subtitle">{props.subtitle}</p> : null}
      </div>
      {props.children ? <div class="actions">{props.children}</div> : null}
    </header>
  );
}

/** Shown while a view's data loads for the first time. */
export function Loading(props: { what?: string }) {
  return (
    <p class="loading" role="status">
      Loading{props.what ? ` ${props.what}` : ""}…
    </p>
  );
}

/** A failed call, with Keel's error code, message and the fields it names. */
export function ErrorNote(props: { error: ApiError | null; retry?: () => void }) {
  const { error } = props;
  if (!error) return null;
  return (
    <div class="error-note" role="alert">
      <strong>
        {error.status === 403 ? "Not allowed" : error.status === 404 ? "Not found" : "Something failed"}:
      </strong>{" "}
      {error.message}
      {error.issues.length > 0 ? (
        <ul>
          {error.issues.map((issue) => (
            <li key={issue.path}>
              <code>{issue.path}</code>: {issue.message}
            </li>
          ))}
        </ul>
      ) : null}
      {props.retry ? (
        <button type="button" class="link-button" onClick={props.retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

const STATUS_TONES: Record<string, string> = {
  completed: "good",
  approved: "good",
  active: "good",
  allow: "good",
  running: "busy",
  queued: "busy",
  pending: "warn",
  suspended: "warn",
  review: "warn",
  escalated: "warn",
  failed: "bad",
  rejected: "bad",
  denied: "bad",
  deny: "bad",
  cancelled: "muted",
  expired: "muted",
  budget_exceeded: "bad",
  promoted: "good",
  rolled_back: "bad",
  paused: "warn",
};

/** A status word in a coloured badge; the word itself carries the meaning, the colour only helps. */
export function StatusBadge(props: { status: string }) {
  return (
    <span class={`badge badge-${STATUS_TONES[props.status] ?? "muted"}`}>
      {props.status.replace(/_/g, " ")}
    </span>
  );
}

/**
 * Data as indented JSON, for arguments, results and payloads. The block scrolls when long, so it takes keyboard
 * focus: a keyboard user can scroll it too (WCAG 2.1.1).
 */
export function JsonBlock(props: { value: unknown; label: string }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
    <section class="json" aria-label={props.label} tabIndex={0}>
      <pre>{JSON.stringify(props.value, null, 2)}</pre>
    </section>
  );
}

/** What a list shows when it has nothing to show, saying why. */
export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>;
}
