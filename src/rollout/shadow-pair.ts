import type { JournalEvent, RunStatus } from "../journal/index.ts";

/** One tool call of a run as the shadow report compares it: what was asked, and what the governor first said. */
export type ComparedCall = {
  callId: string;
  tool: string;
  /** The hash of the arguments first proposed (before a person's edit). */
  argumentsHash: string;
  /** The first policy decision on it; null when none was journaled (the run ended first). */
  decision: "allow" | "review" | "deny" | null;
  /** How a shadow run's call was answered (live, stub, dry-run, not-executed); null when it was executed. */
  shadowed: string | null;
};

/** A person's final word on one of a live run's requests, read from its journal. */
export type HumanDecision = {
  kind: "tool-call" | "draft" | "handoff";
  tool: string | null;
  /** approved unchanged, edited then approved, rejected, or (a handoff) resolved with an answer. */
  decision: "approved" | "edited" | "rejected" | "resolved";
  /** The arguments the agent proposed, and the ones the person approved (after an edit). */
  proposedHash: string | null;
  approvedHash: string | null;
  /** A handoff's answer, written by the person. */
  resolution: string | null;
};

/** What the report needs of one run's journal, folded once. */
export type RunFacts = {
  runId: string;
  input: string;
  status: RunStatus | null;
  answer: string | null;
  errorCode: string | null;
  calls: ComparedCall[];
  costUsd: number;
  /** From run-start to run-end, by the journal's clock; null while the run has not ended. */
  durationMs: number | null;
  guardFindings: number;
  people: HumanDecision[];
};

/** Fold a run's journal into the facts the shadow report compares. */
export function runFacts(events: readonly JournalEvent[]): RunFacts {
  const first = events[0];
  if (first?.type !== "run-start") throw new Error("a run's journal must begin with run-start");
  const facts: RunFacts = {
    runId: first.runId,
    input: first.payload.input,
    status: null,
    answer: null,
    errorCode: null,
    calls: [],
    costUsd: 0,
    durationMs: null,
    guardFindings: 0,
    people: [],
  };
  const calls = new Map<string, ComparedCall>();
  const requests = new Map<string, { kind: string; tool: string | null; hash: string | null }>();
  for (const event of events) {
    switch (event.type) {
      case "tool-call-propose": {
        if (event.payload.revision || calls.has(event.payload.callId)) break;
        const call: ComparedCall = {
          callId: event.payload.callId,
          tool: event.payload.tool,
          argumentsHash: event.payload.argumentsHash,
          decision: null,
          shadowed: null,
        };
        calls.set(call.callId, call);
        facts.calls.push(call);
        break;
      }
      case "policy-decision": {
        const call = event.payload.callId === undefined ? undefined : calls.get(event.payload.callId);
        if (call && call.decision === null) call.decision = event.payload.decision;
        break;
      }
      case "tool-call-end": {
        const call = calls.get(event.payload.callId);
        if (call && event.payload.shadowed) call.shadowed = event.payload.shadowed.answer;
        break;
      }
      case "model-call-end":
        facts.costUsd += event.payload.cost?.usd ?? 0;
        break;
      case "guard-flag":
        facts.guardFindings += 1;
        break;
      case "approval-request":
        requests.set(event.payload.approvalId, {
          kind: event.payload.kind,
          tool: event.payload.tool ?? null,
          hash: event.payload.argumentsHash ?? null,
        });
        break;
      case "approval-decision": {
        const request = requests.get(event.payload.approvalId);
        if (!request || !event.payload.final) break;
        const person = humanDecision(request, event.payload);
        if (person) facts.people.push(person);
        break;
      }
      case "run-end":
        facts.status = event.payload.status;
        facts.answer = event.payload.answer ?? null;
        facts.errorCode = event.payload.error?.code ?? null;
        facts.durationMs = Date.parse(event.at) - Date.parse(first.at);
        break;
      default:
        break;
    }
  }
  return facts;
}

function humanDecision(
  request: { kind: string; tool: string | null; hash: string | null },
  decision: Extract<JournalEvent, { type: "approval-decision" }>["payload"],
): HumanDecision | null {
  if (request.kind === "handoff") {
    return decision.decision === "resolve"
      ? {
          kind: "handoff",
          tool: null,
          decision: "resolved",
          proposedHash: null,
          approvedHash: null,
          resolution: decision.resolution ?? null,
        }
      : null;
  }
  if (request.kind !== "tool-call" && request.kind !== "draft") return null;
  // An edit journals the new hash; a later approval of the edited call binds to it.
  const approvedHash = decision.edited?.argumentsHash ?? decision.argumentsHash ?? request.hash;
  const edited = approvedHash !== null && request.hash !== null && approvedHash !== request.hash;
  return {
    kind: request.kind,
    tool: request.tool,
    decision: decision.decision === "reject" ? "rejected" : edited ? "edited" : "approved",
    proposedHash: request.hash,
    approvedHash: decision.decision === "reject" ? null : approvedHash,
    resolution: null,
  };
}

/** Pairs of the two runs' calls of the same tool, by their order among that tool's calls (the k-th with the k-th). */
export function pairCalls(
  live: readonly ComparedCall[],
  candidate: readonly ComparedCall[],
): { tool: string; live: ComparedCall | null; candidate: ComparedCall | null }[] {
  const tools = [...new Set([...live, ...candidate].map((call) => call.tool))];
  return tools.flatMap((tool) => {
    const ours = live.filter((call) => call.tool === tool);
    const theirs = candidate.filter((call) => call.tool === tool);
    return Array.from({ length: Math.max(ours.length, theirs.length) }, (_, index) => ({
      tool,
      live: ours[index] ?? null,
      candidate: theirs[index] ?? null,
    }));
  });
}

/**
 * Whether the candidate agrees with a person's decision on a live call: it made the call the person approved (for
 * an edit, the edited one), or it did not make the call the person rejected (its own policy denying it counts as
 * not making it). A handoff is compared by the answer grader, with the person's resolution as the expected answer.
 */
export function agreesWithPerson(person: HumanDecision, candidate: RunFacts): boolean | null {
  const made = (hash: string | null) =>
    candidate.calls.some(
      (call) => call.tool === person.tool && call.argumentsHash === hash && call.decision !== "deny",
    );
  switch (person.decision) {
    case "approved":
    case "edited":
      return made(person.approvedHash);
    case "rejected":
      return !made(person.proposedHash);
    case "resolved":
      return null;
    default: {
      const unreachable: never = person.decision;
      throw new Error(`unknown decision ${String(unreachable)}`);
    }
  }
}
