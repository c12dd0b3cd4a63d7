import { withRunLease } from "../approvals/index.ts";
import { KeelError } from "../errors/index.ts";
import {
  type JournalEvent,
  type NewEvent,
  type Principal,
  SignalName,
  TERMINAL_STATUSES,
} from "../journal/index.ts";
import type { Lease, Store } from "../store/index.ts";
import { protectEvent, type RedactionPolicy, redactionPolicyOf } from "./protect-events.ts";

/** What a delivery of a signal became: the `signal-receive` in the run's journal, new or repeated. */
export type SignalOutcome = {
  event: Extract<JournalEvent, { type: "signal-receive" }>;
  /** The idempotency key matched an earlier delivery: nothing new was journaled. */
  duplicate: boolean;
  /** The run was suspended waiting for this signal and is runnable again (a `run-resume` followed it). */
  resumed: boolean;
};

export type SendSignalOptions = {
  store: Store;
  runId: string;
  name: string;
  payload?: unknown;
  idempotencyKey?: string;
  /** Who sends it; journaled with the signal. */
  by: Principal;
  /** Named on the lease and on the `run-resume` (default `signals`). */
  owner?: string;
  /** How long to wait for a worker in the middle of a node to give the run's lease up (default 5 s). */
  waitMs?: number;
  /** How the signal's payload is masked before it is journaled (default: the spec's defaults, secrets masked). */
  redaction?: RedactionPolicy;
  /** Offered a resumed run's lease and journal (an in-process worker's `adopt`); when it declines, any worker claims it. */
  handOff?: (lease: Lease, journal: readonly JournalEvent[]) => boolean;
};

/**
 * Deliver a named signal to a run: journal `signal-receive` under the run's lease in one transaction
 * (`Store.journalTransaction`, as an approval decision is), and when the run is suspended on a wait that names the
 * signal, the `run-resume` that makes it runnable in the same commit. A signal the run does not wait for is journaled
 * all the same, so the run finds it when it reaches the wait. A repeated idempotency key answers the first delivery,
 * even after the run ended; a new signal to an ended run is a conflict.
 */
export async function sendSignal(options: SendSignalOptions): Promise<SignalOutcome> {
  const { store, runId } = options;
  const name = SignalName.safeParse(options.name);
  if (!name.success) {
    const message = name.error.issues[0]?.message ?? "not a signal name";
    throw new KeelError("invalid_request", `signal name "${options.name}" is not valid: ${message}`, {
      issues: [{ path: "name", message }],
    });
  }
  const run = await store.getRun(runId);
  if (!run) throw new KeelError("not_found", `no run "${runId}"`);
  if (TERMINAL_STATUSES.has(run.status)) {
    const earlier =
      options.idempotencyKey === undefined
        ? null
        : findDelivery(await store.readEvents({ runId }), options.idempotencyKey);
    if (earlier) return { event: earlier, duplicate: true, resumed: false };
    throw new KeelError("conflict", `run ${runId} has ended (${run.status}): it takes no more signals`);
  }
  const owner = options.owner ?? "signals";
  const redaction = options.redaction ?? redactionPolicyOf({ runId, guards: undefined });
  const decided = await withRunLease<Decided>({
    store,
    runId,
    owner: `${owner}:${name.data}`,
    waitMs: options.waitMs ?? 5_000,
    decide: (journal) => {
      const earlier =
        options.idempotencyKey === undefined ? null : findDelivery(journal, options.idempotencyKey);
      if (earlier) return { events: [], result: { earlier, resumes: false } };
      const signal: NewEvent = {
        type: "signal-receive",
        payload: {
          name: name.data,
          ...(options.payload === undefined ? {} : { payload: options.payload }),
          by: options.by,
          ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
        },
      };
      // Invariant 5: what comes in from outside is masked before the journal sees it, like an approver's comment.
      const events: NewEvent[] = [protectEvent(signal, redaction).stored];
      const resumes = waitsFor(journal, name.data);
      if (resumes) {
        events.push({ type: "run-resume", payload: { reason: `signal ${name.data}`, worker: owner } });
      }
      return { events, result: { earlier: null, resumes } };
    },
    keepLease: ({ resumes }) => resumes && options.handOff !== undefined,
  });
  if (!decided.released && !options.handOff?.(decided.lease, [...decided.journal, ...decided.written])) {
    await store.releaseLease(decided.lease);
  }
  const { earlier, resumes } = decided.result;
  if (earlier) return { event: earlier, duplicate: true, resumed: false };
  const event = decided.written.find(
    (each): each is Extract<JournalEvent, { type: "signal-receive" }> => each.type === "signal-receive",
  )!;
  return { event, duplicate: false, resumed: resumes };
}

type SignalEvent = Extract<JournalEvent, { type: "signal-receive" }>;
/** What the transaction decided: an earlier delivery to answer with, or whether the new one resumes the run. */
type Decided = { earlier: SignalEvent | null; resumes: boolean };

/** The earlier delivery with this idempotency key, if any. */
function findDelivery(
  journal: readonly JournalEvent[],
  idempotencyKey: string,
): Extract<JournalEvent, { type: "signal-receive" }> | null {
  for (const event of journal) {
    if (event.type === "signal-receive" && event.payload.idempotencyKey === idempotencyKey) return event;
  }
  return null;
}

/** True when the run is suspended (its last suspend or resume is a suspend) on a wait that names this signal. */
function waitsFor(journal: readonly JournalEvent[], name: string): boolean {
  for (let index = journal.length - 1; index >= 0; index -= 1) {
    const event = journal[index]!;
    if (event.type === "run-resume" || event.type === "run-end") return false;
    if (event.type === "run-suspend") return event.payload.wait?.signals?.includes(name) ?? false;
  }
  return false;
}
