import { KeelError } from "../errors/keel-error.ts";
import type { JournalEvent } from "../journal/events.ts";
import { type AppendRequest, commitAppends } from "./commit-appends.ts";
import type { StoreDriver } from "./store-driver.ts";

/** Counters that show group commit at work: fewer commits than append requests means batching happened. */
export type AppendStats = {
  /** Transactions that committed appends. */
  commits: number;
  /** Append calls that reached a commit, accepted or rejected. */
  requests: number;
  /** Events written. */
  events: number;
  /** Append calls rejected inside a commit (stale lease, ended run, unknown run). */
  rejected: number;
};

type Pending = {
  request: AppendRequest;
  resolve: (events: JournalEvent[]) => void;
  reject: (error: unknown) => void;
};

/** Requests per transaction; a bound keeps one transaction's locks and memory modest under a flood. */
const MAX_BATCH = 1_000;

/**
 * Group commit (ARCHITECTURE.md §4): appends made in the same tick, and those arriving while a commit is in
 * flight, share the next transaction, so a busy worker pays one commit per batch instead of one per step.
 * Each promise settles only after its transaction commits.
 */
export class AppendBatcher {
  readonly #driver: StoreDriver;
  readonly #onCommitted: (runIds: readonly string[]) => void;
  readonly #stats: AppendStats = { commits: 0, requests: 0, events: 0, rejected: 0 };
  #queue: Pending[] = [];
  #draining: Promise<void> | null = null;
  #closed = false;

  constructor(driver: StoreDriver, onCommitted: (runIds: readonly string[]) => void) {
    this.#driver = driver;
    this.#onCommitted = onCommitted;
  }

  /** A snapshot of the counters. */
  get stats(): AppendStats {
    return { ...this.#stats };
  }

  /** Queue a request for the next group commit; resolves with the stored events once they are durable. */
  async append(request: AppendRequest): Promise<JournalEvent[]> {
    if (this.#closed) throw new KeelError("unavailable", "the store is closed");
    return await new Promise<JournalEvent[]>((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  /** Refuse new appends and wait for queued ones to commit. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#draining;
  }

  async #drain(): Promise<void> {
    // Let the rest of this tick queue its appends before the first commit starts.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#queue.length > 0) {
      await this.#commit(this.#queue.splice(0, MAX_BATCH));
    }
    this.#draining = null;
  }

  async #commit(batch: Pending[]): Promise<void> {
    const at = new Date().toISOString();
    let result: Awaited<ReturnType<typeof commitAppends>>;
    try {
      result = await this.#driver.transaction(
        async (tx) =>
          await commitAppends(
            tx,
            batch.map((pending) => pending.request),
            at,
          ),
      );
    } catch (error) {
      // The transaction rolled back: nothing of this batch was written, so every caller hears the failure.
      for (const pending of batch) pending.reject(error);
      return;
    }
    this.#stats.commits += 1;
    this.#stats.requests += batch.length;
    result.outcomes.forEach((outcome, index) => {
      const pending = batch[index]!;
      if (outcome.ok) {
        this.#stats.events += outcome.events.length;
        pending.resolve(outcome.events);
      } else {
        this.#stats.rejected += 1;
        pending.reject(outcome.error);
      }
    });
    if (result.written.length > 0) this.#onCommitted(result.written);
  }
}
