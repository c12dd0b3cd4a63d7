import { isKeelError } from "../errors/index.ts";
import type { EntityClass } from "../guards/index.ts";
import { firstFencedEvent, type JournalEvent, type NewEvent } from "../journal/index.ts";
import type { Lease, SealedArgumentsRow, SealedArgumentsStore, Store } from "../store/index.ts";
import { protectEvent, type RedactionPolicy } from "./protect-events.ts";
import { foldEvent, type RunState } from "./run-state.ts";

const NO_REDACTION = { journal: new Set<EntityClass>(), output: new Set<EntityClass>() };

/** How a run's journal masks what it writes, and where it seals the arguments it masked. */
export type JournalRedaction = { policy: RedactionPolicy; sealed?: SealedArgumentsStore };

/**
 * A run's journal as the interpreter writes it, under the worker's lease. Events are folded into the state
 * as they are written. `stage` holds events that need not be durable yet (they are re-derived if lost) so
 * they ride on the next `commit`: a step costs one commit before its side effect and one after. With redaction,
 * events are masked before they are written and folded as written, except that a proposed call keeps its real
 * arguments in the state; those are sealed (and written before the event that masks them).
 */
export class RunJournal {
  readonly state: RunState;
  private readonly store: Store;
  private readonly lease: Lease;
  private readonly redaction: JournalRedaction | undefined;
  private staged: NewEvent[] = [];
  private sealing: SealedArgumentsRow[] = [];
  private settledUnderLease = false;

  constructor(options: { store: Store; lease: Lease; state: RunState; redaction?: JournalRedaction }) {
    this.store = options.store;
    this.lease = options.lease;
    this.state = options.state;
    this.redaction = options.redaction;
  }

  /** Queue events to be written with the next commit; the state sees them at once. */
  stage(...events: NewEvent[]): void {
    this.staged.push(...this.take(events));
  }

  /**
   * Write staged events and these, durably, before the caller acts on them. Once the run's cancel is requested, a
   * batch that starts work is refused (`cancelled`): the events before the first that starts work are written, the
   * rest are dropped, and the refusal is thrown for the worker to end the run cancelled.
   */
  async commit(...events: NewEvent[]): Promise<JournalEvent[]> {
    const batch = [...this.staged, ...this.take(events)];
    this.staged = [];
    if (batch.length === 0) return [];
    if (this.sealing.length > 0 && this.redaction?.sealed) {
      // Sealed first: a journaled proposal whose original is lost could never run after a restart.
      await this.redaction.sealed.put(this.sealing);
      this.sealing = [];
    }
    try {
      const written = await this.store.append({ lease: this.lease, events: batch, typed: true });
      if (!this.settledUnderLease)
        this.settledUnderLease = batch.some((event) => event.type === "tool-call-end");
      return written;
    } catch (error) {
      if (!isKeelError(error, "cancelled")) throw error;
      // The run's cancel was requested: the store refused the batch because it starts work. What came before the
      // first such event settles work already under way (a tool call's end, a branch's) and is written on its own,
      // so the journal keeps every outcome; the caller hears the refusal and ends the run cancelled.
      const first = firstFencedEvent(batch);
      if (first > 0)
        await this.store.append({ lease: this.lease, events: batch.slice(0, first), typed: true });
      throw error;
    }
  }

  /** The classes masked in the journal and in what leaves the system (final answers, outbound arguments). */
  get redactionClasses(): { journal: ReadonlySet<EntityClass>; output: ReadonlySet<EntityClass> } {
    return this.redaction?.policy ?? NO_REDACTION;
  }

  /**
   * Whether a read-only tool call's start may ride on the commit of its end instead of being committed before the
   * call runs. Only under the run's first lease, or once a call's end has been committed under this one: a run taken
   * over after its worker died takes its first call with a durable start, so a call that kills its worker every
   * time is counted in attempts and stopped (`MAX_ATTEMPTS`) instead of taking the process down again unrecorded.
   */
  get mayDeferStarts(): boolean {
    return this.lease.token === 1 || this.settledUnderLease;
  }

  /** Events staged but not yet written. */
  get pending(): number {
    return this.staged.length;
  }

  /** Mask each event, fold it into the state, and return what is to be written. */
  private take(events: readonly NewEvent[]): NewEvent[] {
    return events.map((event) => {
      if (!this.redaction) {
        foldEvent(this.state, provisional(this.state, event));
        return event;
      }
      const { stored, folded, sealed } = protectEvent(event, this.redaction.policy);
      foldEvent(this.state, provisional(this.state, folded));
      if (sealed) this.sealing.push(sealed);
      return stored;
    });
  }
}

/** The event as the store will place it: one writer per run makes the next seq predictable. */
function provisional(state: RunState, event: NewEvent): JournalEvent {
  return {
    ...event,
    runId: state.runId,
    seq: state.lastSeq + 1,
    at: "",
    schemaVersion: 0,
    payloadHash: "",
    prevHash: "",
    hash: "",
  } as JournalEvent;
}
