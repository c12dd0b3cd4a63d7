import type { JournalEvent } from "../journal/index.ts";

/** Plain words for why a run stopped, by error code. */
const WHY: Readonly<Record<string, string>> = {
  max_steps_exceeded: "I used all the steps I'm allowed for one request before finishing",
  model_failed: "the language model could not be reached",
  model_unavailable: "the language model was unavailable",
  model_misconfigured: "the language model it uses is not set up correctly",
  model_timeout: "the language model did not answer in time",
  model_rate_limited: "the language model is busy",
  run_timeout: "it took longer than the time allowed",
  budget_exceeded: "finishing would have cost more than this assistant is allowed to spend",
  cancelled: "the request was cancelled",
  killed: "this assistant was stopped by an operator",
  handoff_closed: "the person it was passed to closed it",
  approval_expired: "nobody decided on it in time",
  input_blocked: "parts of it read as instructions meant to change how I work, so I did not act on it",
  input_rejected:
    "it looked like an attempt to change how I work, and the person who reviewed it declined it",
  not_found: "this assistant is not available right now",
};

/**
 * What a user is told when a run cannot finish (graceful failure): what was tried, why it stopped, and where the
 * request went — never a bare error. Null for a run that completed or is still working.
 */
export function explainRun(events: readonly JournalEvent[]): string | null {
  const tried: string[] = [];
  const requests = new Map<
    string,
    { routeTo: string; tool?: string; kind: string; expiresAt: string; outcome?: string }
  >();
  let end: Extract<JournalEvent, { type: "run-end" }> | null = null;
  let suspendedFor: string | null = null;
  for (const event of events) {
    switch (event.type) {
      case "tool-call-end":
        tried.push(
          event.payload.outcome === "ok"
            ? `${event.payload.tool} (done)`
            : `${event.payload.tool} (${describeError(event.payload.error?.code, event.payload.error?.message)})`,
        );
        break;
      case "approval-request":
        requests.set(event.payload.approvalId, {
          routeTo: event.payload.routeTo,
          kind: event.payload.kind,
          expiresAt: event.payload.expiresAt,
          ...(event.payload.tool === undefined ? {} : { tool: event.payload.tool }),
        });
        break;
      case "approval-decision": {
        const request = requests.get(event.payload.approvalId);
        if (request && event.payload.final) {
          request.outcome = `${event.payload.decision === "approve" ? "approved" : event.payload.decision === "reject" ? "declined" : "answered"} by ${event.payload.by.subject}${event.payload.comment ? ` ("${event.payload.comment}")` : ""}`;
        }
        break;
      }
      case "approval-expire": {
        const request = requests.get(event.payload.approvalId);
        if (request && event.payload.routeTo) request.routeTo = event.payload.routeTo;
        if (request && event.payload.expiresAt) request.expiresAt = event.payload.expiresAt;
        if (request && event.payload.outcome === "denied") request.outcome = "not decided in time";
        break;
      }
      case "run-suspend":
        suspendedFor = event.payload.approvalId ?? null;
        break;
      case "run-resume":
        suspendedFor = null;
        break;
      case "run-end":
        end = event;
        break;
      default:
        break;
    }
  }
  const wentTo = [...requests.entries()].map(
    ([id, request]) =>
      `${request.kind === "handoff" ? "your request was passed" : request.kind === "guard" ? `${request.tool === undefined ? "your request" : `what ${request.tool} returned`} was held for review` : `${request.tool} was sent for review`} to ${request.routeTo} (reference ${id})${request.outcome ? `, ${request.outcome}` : ""}`,
  );
  const triedText = tried.length > 0 ? ` What I tried: ${tried.join("; ")}.` : "";
  if (!end) {
    if (suspendedFor === null) return null;
    const request = requests.get(suspendedFor);
    if (!request) return null;
    const what =
      request.kind === "handoff" || (request.kind === "guard" && request.tool === undefined)
        ? "your request"
        : request.kind === "draft"
          ? `the ${request.tool} draft`
          : request.kind === "guard"
            ? `what ${request.tool} returned`
            : `${request.tool}`;
    return `Your request is waiting for ${request.routeTo} to review ${what} (reference ${suspendedFor}); they are due to answer by ${request.expiresAt}, and I'll continue as soon as they do.${triedText}`;
  }
  if (end.payload.status === "completed") return null;
  const code = end.payload.error?.code ?? end.payload.status;
  const why = WHY[code] ?? end.payload.error?.message ?? end.payload.status;
  const where =
    wentTo.length > 0
      ? ` Where it went: ${wentTo.join("; ")}.`
      : " Nothing was changed on your behalf beyond what is listed; please try again or contact support.";
  return `I couldn't finish your request: ${why}.${triedText}${where}`;
}

function describeError(code: string | undefined, message: string | undefined): string {
  switch (code) {
    case "denied":
      return "not allowed";
    case "rejected":
      return "declined by a reviewer";
    case "approval_expired":
      return "no reviewer decided in time";
    default:
      return `failed: ${message ?? code ?? "unknown error"}`;
  }
}
