import type { JournalEvent, NewEvent } from "../journal/events.ts";
import type { Lease, Store } from "../store/store.ts";
import { foldEvent, type RunState } from "./run-state.ts";

/**
 * A run's journal as the interpreter writes it, under the worker's lease. Events are folded into the state
 * as they are written. `stage` holds events that need not be durable yet (they are re-derived if lost) so
 * they ride on the next `commit`: a step costs one commit before its side effect and one after.
 */
export class RunJournal {
  readonly state: RunState;
  private readonly store: Store;
  private readonly lease: Lease;
  private staged: NewEvent[] = [];

  constructor(options: { store: Store; lease: Lease; state: RunState }) {
    this.store = options.store;
    this.lease = options.lease;
    this.state = options.state;
  }

  /** Queue events to be written with the next commit; the state sees them at once. */
  stage(...events: NewEvent[]): void {
    for (const event of events) {
      this.staged.push(event);
      foldEvent(this.state, provisional(this.state, event));
    }
  }

  /** Write staged events and these, durably, before the caller acts on them. */
  async commit(...events: NewEvent[]): Promise<JournalEvent[]> {
    for (const event of events) foldEvent(this.state, provisional(this.state, event));
    const batch = [...this.staged, ...events];
    this.staged = [];
    if (batch.length === 0) return [];
    return await this.store.append({ lease: this.lease, events: batch });
  }

  /** Events staged but not yet written. */
  get pending(): number {
    return this.staged.length;
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
