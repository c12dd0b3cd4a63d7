import { KeelError } from "../errors/index.ts";
import type { JournalEvent, NewEvent } from "../journal/index.ts";
import { hashPayload } from "../journal/index.ts";
import type { ApprovalQueries, ApprovalRecord, Lease, Store } from "../store/index.ts";
import { type ApprovalView, foldApproval } from "./approval-view.ts";
import { type CheckedDecision, checkDecision, type DecisionInput } from "./check-decision.ts";
import { checkFormValues } from "./check-form-values.ts";
import { resumeDeadline } from "./resume-deadline.ts";
import { withRunLease } from "./with-run-lease.ts";

/** What became of a decision: the request as it stood and stands now, and the events journaled for it. */
export type DecisionOutcome = {
  record: ApprovalRecord;
  approval: ApprovalView;
  events: JournalEvent[];
  resumed: boolean;
  journal: JournalEvent[];
};

export type DecideApprovalOptions = {
  store: Store & ApprovalQueries;
  approvalId: string;
  /** The request as the caller already read it (null: there is none); read here when not given. */
  record?: ApprovalRecord | null;
  input: DecisionInput;
  /** Checks edited arguments against the tool's schema; returns why they are invalid, or null. */
  checkArguments?: (tool: string, args: unknown, agent: { name: string; version: string }) => string | null;
  now?: () => Date;
  /** Named on the lease and on `run-resume`. */
  owner?: string;
  /**
   * Offered a resumed run's lease and whole journal (an in-process worker's `adopt`), so the run continues without
   * a release and a claim; when it declines, the lease is released and any worker claims the run.
   */
  handOff?: (lease: Lease, journal: readonly JournalEvent[]) => boolean;
  /**
   * Masks what the person wrote (comment, resolution) with the agent's redaction settings before it is journaled
   * or becomes the run's answer; the inbox is a way into the journal like any other.
   */
  redactText?: (text: string, agent: { name: string; version: string }) => string;
  /**
   * Given an approver's edited arguments, keeps what the run must execute (sealed, out of the journal) and returns
   * what may be journaled in its place; without it the edit is journaled as written.
   */
  sealEdit?: (edit: {
    runId: string;
    agent: { name: string; version: string };
    arguments: unknown;
    argumentsHash: string;
  }) => Promise<unknown>;
};

/**
 * Decide an approval request. The decision is checked against the run's journal under the run's lease and
 * journaled with who decided and on which argument hash; an edit is journaled first as a new proposal with its
 * own hash, all in one transaction. A decision that settles the request resumes the run in the same commit:
 * approved, the held call runs (once, with exactly the approved arguments); rejected, the model is told so; a
 * resolved handoff ends the run with the person's answer. The resumed run goes straight to `handOff` (an
 * in-process worker) when given, else the released lease wakes any worker, which claims it.
 */
export async function decideApproval(options: DecideApprovalOptions): Promise<DecisionOutcome> {
  const { store, approvalId } = options;
  const now = options.now ?? (() => new Date());
  const owner = options.owner ?? "approvals";
  const record = options.record === undefined ? await store.getApproval(approvalId) : options.record;
  if (!record) throw new KeelError("not_found", `no approval request "${approvalId}"`);
  if (record.status !== "pending") {
    const by = record.decidedBy ? ` by ${record.decidedBy} at ${record.decidedAt?.toISOString()}` : "";
    throw new KeelError("conflict", `approval ${approvalId} is already ${record.status}${by}`);
  }
  const agent = { name: record.agent, version: record.agentVersion };
  const input = redactWords(options.input, options.redactText, agent);
  const journaledArguments =
    input.arguments !== undefined && input.decision === "approve" && options.sealEdit
      ? await options.sealEdit({
          runId: record.runId,
          agent,
          arguments: input.arguments,
          argumentsHash: hashPayload(input.arguments),
        })
      : input.arguments;
  const decided = await withRunLease({
    store,
    runId: record.runId,
    owner: `${owner}:${approvalId}`,
    decide: (journal) => {
      const view = foldApproval(journal, approvalId);
      if (!view)
        throw new KeelError("not_found", `run ${record.runId} has no approval request "${approvalId}"`);
      const editedHash = editedHashOf(view, input, options.checkArguments);
      const checked = checkDecision(view, input, editedHash);
      // A task's form is checked once the decision is otherwise sound: a bad form names its field and loses nothing.
      if (view.request.kind === "task" && input.decision === "approve") {
        checkFormValues(view.request.form, input.values ?? {});
      }
      const events = decisionEvents(view, input, checked, editedHash, now(), owner, journaledArguments);
      return { events, result: { checked, resumes: events.at(-1)?.type === "run-resume" } };
    },
    // A run that resumed (not one waiting for a second approver, nor one that ended) may go straight to a worker.
    keepLease: ({ resumes }) => resumes && options.handOff !== undefined,
  });
  const journal = [...decided.journal, ...decided.written];
  if (!decided.released && !options.handOff?.(decided.lease, journal)) {
    await store.releaseLease(decided.lease);
  }
  return {
    record,
    approval: foldApproval(journal, approvalId)!,
    events: decided.written,
    resumed: decided.result.checked.final,
    journal,
  };
}

/** The new hash when the approver changed the arguments, after checking them against the tool's schema. */
function editedHashOf(
  view: ApprovalView,
  input: DecisionInput,
  checkArguments: DecideApprovalOptions["checkArguments"],
): string | null {
  if (input.arguments === undefined || view.call === null || input.decision !== "approve") return null;
  const hash = hashPayload(input.arguments);
  if (hash === view.argumentsHash) return null;
  const agent = { name: view.request.context.agent, version: view.request.context.agentVersion };
  const invalid = checkArguments?.(view.call.tool, input.arguments, agent) ?? null;
  if (invalid !== null) {
    throw new KeelError(
      "invalid_request",
      `the edited arguments are not valid for ${view.call.tool}: ${invalid}`,
      {
        issues: [{ path: "arguments", message: invalid }],
      },
    );
  }
  return hash;
}

function decisionEvents(
  view: ApprovalView,
  input: DecisionInput,
  checked: CheckedDecision,
  editedHash: string | null,
  now: Date,
  owner: string,
  journaledArguments: unknown,
): NewEvent[] {
  const { request } = view;
  const who = input.approver.subject;
  const events: NewEvent[] = [];
  if (editedHash !== null && view.call) {
    events.push({
      type: "tool-call-propose",
      payload: {
        step: view.call.step,
        callId: view.call.callId,
        tool: view.call.tool,
        arguments: journaledArguments,
        argumentsHash: editedHash,
        revision: { approvalId: request.approvalId, by: who, previousHash: view.call.argumentsHash },
      },
    });
  }
  const comment = input.comment?.trim();
  events.push({
    type: "approval-decision",
    payload: {
      approvalId: request.approvalId,
      decision: input.decision,
      by: input.approver,
      ...(request.kind === "handoff" ? {} : { argumentsHash: editedHash ?? view.argumentsHash ?? "" }),
      ...(editedHash !== null && view.argumentsHash !== null
        ? { edited: { previousHash: view.argumentsHash, argumentsHash: editedHash } }
        : {}),
      ...(comment ? { comment } : {}),
      ...(input.decision === "resolve" && input.resolution ? { resolution: input.resolution.trim() } : {}),
      ...(request.kind === "task" && input.decision === "approve"
        ? { values: (input.values ?? {}) as Record<string, unknown> }
        : {}),
      approvals: checked.approvals,
      final: checked.final,
    },
  });
  if (!checked.final) return events;
  const resume: NewEvent = {
    type: "run-resume",
    payload: {
      reason: `approval ${request.approvalId} ${input.decision === "approve" ? "approved" : "rejected"} by ${
        input.decision === "approve" && editedHash === null ? [...view.approvers, who].join(", ") : who
      }`,
      worker: owner,
      deadlineAt: resumeDeadline(view, now).toISOString(),
    },
  };
  switch (input.decision) {
    case "approve":
      return [...events, resume];
    case "reject":
      if (request.kind === "guard") return [...events, ...rejectedGuard(view, who, comment, resume)];
      // A denied task resumes its workflow, whose approval node goes to `onDeny` (or ends the run); a denied
      // delegation resumes it too, and its handoff node ends the run saying who refused.
      if (request.kind === "task" || request.kind === "delegation") return [...events, resume];
      if (request.kind === "handoff") {
        return [
          ...events,
          {
            type: "run-end",
            payload: {
              status: "failed",
              answer: `I couldn't finish this on my own, so I passed it to ${view.routeTo}. ${who} reviewed it and closed it${comment ? `: ${comment}` : "."}`,
              error: { code: "handoff_closed", message: `closed by ${who}${comment ? `: ${comment}` : ""}` },
              steps: view.steps,
            },
          },
        ];
      }
      return [
        ...events,
        {
          type: "tool-call-end",
          payload: {
            step: view.call?.step ?? view.request.context.step,
            callId: view.call?.callId ?? request.callId ?? "",
            tool: view.call?.tool ?? request.tool ?? "",
            outcome: "error",
            error: {
              code: "rejected",
              message: `${who} (${view.routeTo}) reviewed this call and rejected it${comment ? `: ${comment}` : ""}`,
            },
            durationMs: 0,
          },
        },
        resume,
      ];
    case "resolve":
      return [
        ...events,
        {
          type: "run-end",
          payload: { status: "completed", answer: input.resolution!.trim(), steps: view.steps },
        },
      ];
    default: {
      const unreachable: never = input.decision;
      throw new KeelError("invalid_request", `unknown decision ${String(unreachable)}`);
    }
  }
}

/**
 * A person withheld content an injection guard held: a flagged tool result stays from the model (the run state
 * swaps it for a tool error when it folds the rejection) and the run resumes; a flagged input ends the run with
 * an explanation.
 */
function rejectedGuard(
  view: ApprovalView,
  who: string,
  comment: string | undefined,
  resume: NewEvent,
): NewEvent[] {
  if (view.request.callId !== undefined) return [resume];
  return [
    {
      type: "run-end",
      payload: {
        status: "failed",
        answer: `I didn't act on this request: it looked like an attempt to change how I work, and ${who} reviewed it and declined it${comment ? `: ${comment}` : "."}`,
        error: {
          code: "input_rejected",
          message: `the flagged input was rejected by ${who}${comment ? `: ${comment}` : ""}`,
        },
        steps: view.steps,
      },
    },
  ];
}

/** The decision with the person's comment and resolution masked, when a redactor is given. */
function redactWords(
  input: DecisionInput,
  redact: DecideApprovalOptions["redactText"],
  agent: { name: string; version: string },
): DecisionInput {
  if (!redact) return input;
  return {
    ...input,
    ...(input.comment === undefined ? {} : { comment: redact(input.comment, agent) }),
    ...(input.resolution === undefined ? {} : { resolution: redact(input.resolution, agent) }),
  };
}
