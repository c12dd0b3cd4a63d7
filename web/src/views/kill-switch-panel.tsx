import { useEffect, useRef, useState } from "preact/hooks";
import { type Answer, ApiError, api } from "../api.ts";
import { ErrorNote } from "../components.tsx";
import { formatTime } from "../format.ts";
import { may, useMe } from "../session.ts";

type Kill = Answer<"listKillSwitches">["killSwitches"][number];

/** The kill switch that stops an agent now: its own, its tenant's or everything's; null when it may act. */
export function killFor(kills: readonly Kill[], agent: string): Kill | null {
  return (
    kills.find((kill) => kill.scope === "agent" && kill.target === agent) ??
    kills.find((kill) => kill.scope !== "agent") ??
    null
  );
}

/**
 * An agent's kill switch: thrown, it is shown first and loudest (reason, who, when) with Resume; not thrown, an
 * operator may stop the agent after saying why in a confirmation dialog. The API refuses callers without the
 * operator role anyway.
 */
export function KillSwitchPanel(props: { agent: string; kill: Kill | null; onChange: () => void }) {
  const me = useMe();
  const [asking, setAsking] = useState(false);
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const stopButton = useRef<HTMLButtonElement>(null);
  const banner = useRef<HTMLHeadingElement>(null);
  const operator = may(me, "kill");
  const { kill } = props;

  // After stopping or resuming, focus goes to the panel's new heading: the button pressed is gone.
  const changed = useRef(false);
  useEffect(() => {
    if (changed.current) banner.current?.focus();
    changed.current = false;
  }, [kill?.killedAt]);

  const resume = async () => {
    setBusy(true);
    setFailure(null);
    try {
      await api<"resumeAgent">(`/v1/agents/${encodeURIComponent(props.agent)}/resume`, { method: "POST" });
      changed.current = true;
      props.onChange();
    } catch (error) {
      setFailure(error instanceof ApiError ? error : new ApiError(0, "internal", String(error)));
    } finally {
      setBusy(false);
    }
  };

  if (kill) {
    const own = kill.scope === "agent";
    return (
      <section class="kill-switch thrown" aria-labelledby="kill-title">
        <h2 id="kill-title" tabIndex={-1} ref={banner}>
          {own
            ? "Stopped: this agent's kill switch is thrown"
            : `Stopped: the kill switch for ${kill.scope === "all" ? "every agent" : `tenant ${kill.target}`} is thrown`}
        </h2>
        <p>
          <strong>Reason:</strong> {kill.reason}
        </p>
        <p>
          Thrown by <strong>{kill.killedBy}</strong> at {formatTime(kill.killedAt)}. No tool call of the agent
          is allowed until it is lifted.
        </p>
        <ErrorNote error={failure} />
        {operator && own ? (
          <button type="button" onClick={() => void resume()} disabled={busy}>
            Resume this agent
          </button>
        ) : null}
      </section>
    );
  }
  return (
    <section class="kill-switch" aria-labelledby="kill-title">
      <h2 id="kill-title" tabIndex={-1} ref={banner}>
        Kill switch: off
      </h2>
      <p class="hint">The agent may act. Stopping it aborts its tool calls in flight and refuses new ones.</p>
      <ErrorNote error={failure} />
      {operator ? (
        <button type="button" class="danger" ref={stopButton} onClick={() => setAsking(true)}>
          Stop this agent
        </button>
      ) : null}
      {asking ? (
        <StopDialog
          agent={props.agent}
          onClose={(stopped) => {
            setAsking(false);
            if (stopped) {
              changed.current = true;
              props.onChange();
            } else stopButton.current?.focus();
          }}
        />
      ) : null}
    </section>
  );
}

/** The confirmation: a modal `<dialog>` (the browser keeps focus inside it and Escape cancels) asking for a reason. */
function StopDialog(props: { agent: string; onClose: (stopped: boolean) => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState("");
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    dialog.current?.showModal();
  }, []);
  const stop = async () => {
    if (busy) return;
    setBusy(true);
    setFailure(null);
    try {
      await api<"killAgent">(`/v1/agents/${encodeURIComponent(props.agent)}/kill`, {
        method: "POST",
        body: { reason: reason.trim() },
      });
      dialog.current?.close();
      props.onClose(true);
    } catch (error) {
      setFailure(error instanceof ApiError ? error : new ApiError(0, "internal", String(error)));
      setBusy(false);
    }
  };
  return (
    <dialog
      ref={dialog}
      class="stop-dialog"
      aria-labelledby="stop-title"
      aria-describedby="stop-help"
      onClose={() => {
        if (!busy) props.onClose(false);
      }}
    >
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          void stop();
        }}
      >
        <h2 id="stop-title">Stop {props.agent}?</h2>
        <p id="stop-help">
          Its tool calls in flight are aborted and every new action is refused until someone resumes it. Say
          why: the reason is shown to everyone who looks at the agent and in the runs it stops.
        </p>
        <label for="stop-reason">Reason</label>
        <textarea
          id="stop-reason"
          required
          rows={3}
          maxLength={500}
          value={reason}
          onInput={(event) => setReason(event.currentTarget.value)}
        />
        <ErrorNote error={failure} />
        <div class="dialog-actions">
          <button type="submit" class="danger" disabled={busy || reason.trim() === ""}>
            Stop the agent
          </button>
          <button type="button" class="secondary" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
