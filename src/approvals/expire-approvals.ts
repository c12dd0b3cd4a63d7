import { isKeelError } from "../errors/index.ts";
import type { NewEvent } from "../journal/index.ts";
import type { ApprovalQueries, Store } from "../store/index.ts";
import { type ApprovalView, foldApproval } from "./approval-view.ts";
import { resumeDeadline } from "./resume-deadline.ts";
import { withRunLease } from "./with-run-lease.ts";

/** Who the journal names for what the SLA timer does. */
export const SLA_ACTOR = "system:sla";

/**
 * Settle every pending request whose SLA has passed, as its spec says: escalate it once (to `escalateTo`, urgent,
 * with a fresh SLA), or deny it — the held call is not made and the model is told why, or a handoff ends with an
 * explanation. Each expiry is journaled under the run's lease; a run busy with a decision is left for the next
 * pass. A workflow's task is not this timer's: its run's durable timer takes the node's `onTimeout` path, and a
 * node without one keeps its request open. Returns the ids it expired and escalated.
 */
export async function expireDueApprovals(options: {
  store: Store & ApprovalQueries;
  now?: () => Date;
  limit?: number;
}): Promise<{ denied: string[]; escalated: string[] }> {
  const { store } = options;
  const now = options.now ?? (() => new Date());
  const due = await store.listApprovals({ dueBy: now(), notKind: "task", limit: options.limit ?? 100 });
  const denied: string[] = [];
  const escalated: string[] = [];
  for (const record of due) {
    try {
      const { result: outcome } = await withRunLease({
        store,
        runId: record.runId,
        owner: `${SLA_ACTOR}:${record.approvalId}`,
        waitMs: 0,
        decide: (journal) => {
          const view = foldApproval(journal, record.approvalId);
          const at = now();
          if (view?.status !== "pending" || !view.runWaiting || Date.parse(view.expiresAt) > at.getTime()) {
            return { events: [], result: null };
          }
          const { events, outcome } = expiryEvents(view, at);
          return { events, result: outcome };
        },
      });
      if (outcome === "denied") denied.push(record.approvalId);
      if (outcome === "escalated") escalated.push(record.approvalId);
    } catch (error) {
      // A run another writer holds, or one that just ended, is looked at again on the next pass.
      if (!isKeelError(error, "conflict")) throw error;
    }
  }
  return { denied, escalated };
}

function expiryEvents(
  view: ApprovalView,
  now: Date,
): { events: NewEvent[]; outcome: "denied" | "escalated" } {
  const { request } = view;
  const expiredAt = view.expiresAt;
  const escalatedBefore = view.expiries.some((expiry) => expiry.outcome === "escalated");
  if (request.onTimeout === "escalate" && request.escalateTo !== undefined && !escalatedBefore) {
    const slaMs = Date.parse(request.expiresAt) - Date.parse(request.requestedAt);
    return {
      outcome: "escalated",
      events: [
        {
          type: "approval-expire",
          payload: {
            approvalId: request.approvalId,
            outcome: "escalated",
            expiredAt,
            routeTo: request.escalateTo,
            expiresAt: new Date(now.getTime() + slaMs).toISOString(),
            priority: "urgent",
          },
        },
      ],
    };
  }
  const expire: NewEvent = {
    type: "approval-expire",
    payload: { approvalId: request.approvalId, outcome: "denied", expiredAt },
  };
  const message = `nobody in ${view.routeTo} decided within the time allowed (by ${expiredAt}), so it was not done`;
  if (request.kind === "guard") {
    return {
      outcome: "denied",
      events: [
        expire,
        // An unreviewed tool result stays withheld (the run state applies the expiry); an unreviewed input ends the run.
        request.callId !== undefined
          ? {
              type: "run-resume",
              payload: {
                reason: `approval ${request.approvalId} expired unanswered`,
                worker: SLA_ACTOR,
                deadlineAt: resumeDeadline(view, now).toISOString(),
              },
            }
          : {
              type: "run-end",
              payload: {
                status: "failed",
                answer: `I didn't act on this request: it looked like an attempt to change how I work, and nobody in ${view.routeTo} reviewed it in time. Please contact support and mention reference ${request.approvalId}.`,
                error: { code: "approval_expired", message },
                steps: view.steps,
              },
            },
      ],
    };
  }
  if (request.kind === "delegation") {
    // The workflow's handoff node reads the expiry when the run resumes, and ends the run saying so.
    return {
      outcome: "denied",
      events: [
        expire,
        {
          type: "run-resume",
          payload: {
            reason: `approval ${request.approvalId} expired unanswered`,
            worker: SLA_ACTOR,
            deadlineAt: resumeDeadline(view, now).toISOString(),
          },
        },
      ],
    };
  }
  if (request.kind === "handoff") {
    return {
      outcome: "denied",
      events: [
        expire,
        {
          type: "run-end",
          payload: {
            status: "failed",
            answer: `I couldn't finish this on my own and passed it to ${view.routeTo}, but nobody picked it up in time. Please contact support again and mention reference ${request.approvalId}.`,
            error: { code: "approval_expired", message },
            steps: view.steps,
          },
        },
      ],
    };
  }
  return {
    outcome: "denied",
    events: [
      expire,
      {
        type: "tool-call-end",
        payload: {
          step: view.call?.step ?? request.context.step,
          callId: view.call?.callId ?? request.callId ?? "",
          tool: view.call?.tool ?? request.tool ?? "",
          outcome: "error",
          error: { code: "approval_expired", message },
          durationMs: 0,
        },
      },
      {
        type: "run-resume",
        payload: {
          reason: `approval ${request.approvalId} expired unanswered`,
          worker: SLA_ACTOR,
          deadlineAt: resumeDeadline(view, now).toISOString(),
        },
      },
    ],
  };
}

/** A loop that expires due requests every `intervalMs` until stopped. */
export type ApprovalTimer = { start(): void; stop(): Promise<void>; runOnce(): Promise<void> };

/** The SLA timer `keel serve` and `keel worker` run; any number may run against one store. */
export function createApprovalTimer(options: {
  store: Store & ApprovalQueries;
  intervalMs?: number;
  now?: () => Date;
  log?: (message: string) => void;
}): ApprovalTimer {
  const intervalMs = options.intervalMs ?? 5_000;
  const log = options.log ?? ((message: string) => console.error(message));
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  const runOnce = async () => {
    running ??= expireDueApprovals({ store: options.store, ...(options.now ? { now: options.now } : {}) })
      .then(
        () => undefined,
        (error: unknown) =>
          log(
            `approvals: expiring due requests failed: ${error instanceof Error ? error.message : String(error)}`,
          ),
      )
      .finally(() => {
        running = null;
      });
    await running;
  };
  return {
    start() {
      if (timer) return;
      timer = setInterval(() => void runOnce(), intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
    runOnce,
  };
}
