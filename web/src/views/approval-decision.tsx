import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { type Answer, ApiError, api } from "../api.ts";
import { useMe } from "../session.ts";
import { type ArgumentChange, argumentChanges } from "./argument-changes.ts";
import { LiveRunStatus } from "./live-run-status.tsx";

type Detail = Answer<"getApproval">;
type Decided = Answer<"decideApproval">;
type Choice = "approve" | "reject" | "resolve" | "edit";

const DECIDE_AS_ITEM = "keel.decideAs";

/** Who a development-mode decision names (no keys exist, so the request says): remembered in this browser. */
function rememberedApprover(required: readonly string[]): { subject: string; roles: string } {
  let saved: { subject?: string; roles?: string } = {};
  try {
    saved = JSON.parse(localStorage.getItem(DECIDE_AS_ITEM) ?? "{}") as typeof saved;
  } catch {}
  const savedRoles = (saved.roles ?? "").split(",").map((role) => role.trim());
  // Roles remembered from another queue would only be refused: start from the roles this request asks for.
  const fits = savedRoles.some((role) => required.includes(role));
  return { subject: saved.subject ?? "", roles: fits ? (saved.roles ?? "") : required.join(", ") };
}

/**
 * The decision on one pending request: approve, reject, or edit the held call's arguments (JSON, with the changed
 * fields shown before sending) and approve the edit, each with a comment; a handoff is resolved with an answer. The
 * API decides whether the caller may (roles, separation of duties, the two-person rule, a stale hash): its refusal
 * is shown as it says it. Once the decision resumes the run, the run is followed live.
 */
export function ApprovalDecision(props: { request: Detail; onDecided: (decided: Decided) => void }) {
  const { request } = props;
  const me = useMe();
  const [comment, setComment] = useState("");
  const [resolution, setResolution] = useState("");
  const [values, setValues] = useState("{}");
  const [editing, setEditing] = useState(false);
  const shownArguments = useMemo(() => JSON.stringify(request.arguments, null, 2), [request.argumentsHash]);
  const [edited, setEdited] = useState(shownArguments);
  const [approver, setApprover] = useState(() => rememberedApprover(request.approverRoles));
  const [sending, setSending] = useState<Choice | null>(null);
  const [refusal, setRefusal] = useState<ApiError | null>(null);

  useEffect(() => {
    setEdited(shownArguments);
    setEditing(false);
    setRefusal(null);
  }, [request.id, request.argumentsHash]);

  const editable =
    (request.kind === "tool-call" || request.kind === "draft") && request.argumentsHash !== null;
  const parsed = useMemo((): { value: unknown } | { error: string } => {
    try {
      return { value: JSON.parse(edited) as unknown };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }, [edited]);
  const changes: ArgumentChange[] = "value" in parsed ? argumentChanges(request.arguments, parsed.value) : [];

  const decide = async (choice: Choice) => {
    setSending(choice);
    setRefusal(null);
    const body = {
      decision: choice === "edit" ? "approve" : choice,
      ...(request.argumentsHash && choice !== "reject" && choice !== "resolve"
        ? { argumentsHash: request.argumentsHash }
        : {}),
      ...(choice === "edit" && "value" in parsed ? { arguments: parsed.value } : {}),
      ...(comment.trim() ? { comment: comment.trim() } : {}),
      ...(choice === "resolve" ? { resolution: resolution.trim() } : {}),
      ...(choice === "approve" && request.kind === "task"
        ? { values: JSON.parse(values) as Record<string, unknown> }
        : {}),
    };
    const headers: Record<string, string> = me.development
      ? { "x-keel-subject": approver.subject.trim(), "x-keel-roles": approver.roles }
      : {};
    if (me.development) localStorage.setItem(DECIDE_AS_ITEM, JSON.stringify(approver));
    try {
      props.onDecided(
        await api<"decideApproval">(`/v1/approvals/${encodeURIComponent(request.id)}/decision`, {
          method: "POST",
          body,
          headers,
        }),
      );
    } catch (error) {
      setRefusal(error instanceof ApiError ? error : new ApiError(0, "internal", String(error)));
    } finally {
      setSending(null);
    }
  };

  const missingApprover = me.development && approver.subject.trim() === "";
  const choose = (choice: Choice) => {
    if (sending) return;
    if (choice === "approve" && request.kind === "task") {
      try {
        JSON.parse(values);
      } catch (error) {
        setRefusal(
          new ApiError(400, "invalid_request", "the form values are not JSON", [
            { path: "values", message: (error as Error).message },
          ]),
        );
        return;
      }
    }
    if (missingApprover) {
      setRefusal(new ApiError(401, "unauthorized", "fill in the name you decide as"));
      document.getElementById("decide-as-subject")?.focus();
      return;
    }
    void decide(choice);
  };
  return (
    <form class="decision card" aria-labelledby="decision-title" onSubmit={(event) => event.preventDefault()}>
      <h3 id="decision-title">Your decision</h3>
      {me.development ? (
        <fieldset class="decide-as">
          <legend>Decide as</legend>
          <p class="hint">Development mode: no API keys exist, so say who decides. Kept in this browser.</p>
          <div class="field">
            <label for="decide-as-subject">Name</label>
            <input
              id="decide-as-subject"
              required
              autocomplete="email"
              value={approver.subject}
              onInput={(event) => setApprover({ ...approver, subject: event.currentTarget.value })}
            />
          </div>
          <div class="field">
            <label for="decide-as-roles">Roles</label>
            <input
              id="decide-as-roles"
              value={approver.roles}
              aria-describedby="decide-as-roles-help"
              onInput={(event) => setApprover({ ...approver, roles: event.currentTarget.value })}
            />
            <span id="decide-as-roles-help" class="hint">
              comma separated; this request needs one of {request.approverRoles.join(", ")}
            </span>
          </div>
        </fieldset>
      ) : null}
      {editing ? (
        <ArgumentsEditor
          tool={request.tool ?? "the call"}
          text={edited}
          onText={setEdited}
          error={"error" in parsed ? parsed.error : null}
          changes={changes}
        />
      ) : null}
      {request.kind === "task" ? (
        <div class="field">
          <label for="decision-values">Form values (JSON)</label>
          <textarea
            id="decision-values"
            class="code"
            rows={5}
            spellcheck={false}
            value={values}
            aria-describedby="decision-values-help"
            onInput={(event) => setValues(event.currentTarget.value)}
          />
          <span id="decision-values-help" class="hint">
            An object that fills in the form above; the API names any field that does not fit.
          </span>
        </div>
      ) : null}
      {request.kind === "handoff" ? (
        <div class="field">
          <label for="decision-resolution">Answer for the user</label>
          <textarea
            id="decision-resolution"
            rows={3}
            value={resolution}
            onInput={(event) => setResolution(event.currentTarget.value)}
          />
        </div>
      ) : null}
      <div class="field">
        <label for="decision-comment">Comment</label>
        <textarea
          id="decision-comment"
          rows={2}
          value={comment}
          aria-describedby="decision-comment-help"
          onInput={(event) => setComment(event.currentTarget.value)}
        />
        <span id="decision-comment-help" class="hint">
          Journaled with your decision; the agent is told it when you reject.
        </span>
      </div>
      {refusal ? <Refusal error={refusal} /> : null}
      <div class="decision-actions">
        {request.kind === "handoff" ? (
          <button type="button" disabled={resolution.trim() === ""} onClick={() => choose("resolve")}>
            Resolve
          </button>
        ) : editing ? (
          <button type="button" disabled={changes.length === 0} onClick={() => choose("edit")}>
            Approve with edits
          </button>
        ) : (
          <button type="button" onClick={() => choose("approve")}>
            Approve
          </button>
        )}
        <button type="button" class="danger" onClick={() => choose("reject")}>
          Reject
        </button>
        {editable ? (
          <button
            type="button"
            class="secondary"
            aria-expanded={editing}
            onClick={() => {
              setEditing(!editing);
              setEdited(shownArguments);
            }}
          >
            {editing ? "Cancel edit" : "Edit"}
          </button>
        ) : null}
        {sending ? (
          <span role="status" class="hint">
            Sending…
          </span>
        ) : null}
      </div>
    </form>
  );
}

function ArgumentsEditor(props: {
  tool: string;
  text: string;
  onText: (text: string) => void;
  error: string | null;
  changes: ArgumentChange[];
}) {
  return (
    <div class="arguments-editor">
      <div class="field">
        <label for="decision-arguments">Arguments of {props.tool} (JSON)</label>
        <textarea
          id="decision-arguments"
          class="code"
          rows={8}
          spellcheck={false}
          value={props.text}
          aria-invalid={props.error !== null}
          aria-describedby="decision-arguments-check"
          onInput={(event) => props.onText(event.currentTarget.value)}
        />
      </div>
      <div id="decision-arguments-check" aria-live="polite">
        {props.error !== null ? (
          <p class="field-error">Not valid JSON: {props.error}</p>
        ) : props.changes.length === 0 ? (
          <p class="hint">No field changed yet.</p>
        ) : (
          <table class="changes">
            <caption>What your edit changes</caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Was</th>
                <th scope="col">Becomes</th>
              </tr>
            </thead>
            <tbody>
              {props.changes.map((change) => (
                <tr key={change.path}>
                  <td>
                    <code>{change.path}</code>
                  </td>
                  <td>
                    <del>{show(change.before)}</del>
                  </td>
                  <td>
                    <ins>{show(change.after)}</ins>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}

function show(value: unknown): string {
  return value === undefined ? "(absent)" : JSON.stringify(value);
}

/** The API's refusal, named for what it means to an approver. */
function Refusal(props: { error: ApiError }) {
  const { error } = props;
  const title =
    error.status === 409
      ? "Refused — the request changed or you already decided"
      : error.status === 403
        ? "Not allowed to decide this request"
        : error.status === 401
          ? "Say who decides"
          : error.status === 400
            ? "The decision is not valid"
            : "The decision failed";
  return (
    <div class="error-note" role="alert">
      <strong>{title}:</strong> {error.message}
      {error.issues.length > 0 ? (
        <ul>
          {error.issues.map((issue) => (
            <li key={issue.path}>
              <code>{issue.path}</code>: {issue.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/**
 * What a decision did: the run followed live when it resumed, or the count when a second approver is still needed.
 * It takes focus, so a keyboard user hears the outcome and continues from it.
 */
export function DecisionOutcome(props: { decided: Decided }) {
  const { decided } = props;
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const last = decided.events.at(-1)?.seq ?? 0;
  const waitsForSecond = decided.status === "pending";
  return (
    <section class="decision card" aria-labelledby="decision-outcome">
      <h3 id="decision-outcome" tabIndex={-1} ref={heading}>
        {waitsForSecond
          ? `Your approval is recorded: ${decided.approvers.length} of ${decided.requiredApprovals} approvers`
          : `Request ${decided.status}`}
      </h3>
      {waitsForSecond ? (
        <p>The call stays held until another person approves the same arguments (two-person rule).</p>
      ) : decided.resumed ? (
        <LiveRunStatus runId={decided.runId} afterSeq={last} />
      ) : null}
    </section>
  );
}
