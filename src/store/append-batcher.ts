import { KeelError } from "../errors/index.ts";
import { type JournalEvent, TERMINAL_STATUSES as TERMINAL } from "../journal/index.ts";
import { type AppendRequest, commitAppends } from "./commit-appends.ts";
import { appendFenced, type FencedRequest, type KnownHead } from "./fenced-append.ts";
import type { StoreDriver } from "./store-driver.ts";

/** Counters that show group commit at work: fewer commits than append requests means batching happened. */
export type AppendStats = {
  /** Commits of appends: fenced single statements and locking transactions together. */
  commits: number;
  /** Of those, commits made by the fenced single statement (one round trip, no BEGIN or COMMIT). */
  fencedCommits: number;
  /** Append calls that reached a commit, accepted or rejected. */
  requests: number;
  /** Events written. */
  events: number;
  /** Append calls rejected inside a commit (stale lease, ended run, unknown run, new work for a cancelled run). */
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
 * Events only the locking transaction writes: those the approvals projection folds (see project-approvals.ts),
 * `run-suspend`, which may start a durable timer (`wake_at`) the fenced statement does not write, and a child run's
 * `run-end`, which counts against its parent's children and may wake it (a run without a parent ends fenced).
 */
const LOCKING_EVENTS: ReadonlySet<string> = new Set([
  "approval-request",
  "approval-decision",
  "approval-expire",
  "run-suspend",
  "run-end",
]);
/** Run heads remembered for the fenced statement; the oldest are forgotten first (they then cost one fallback). */
const MAX_KNOWN_HEADS = 10_000;

/**
 * Group commit (ARCHITECTURE.md §4): appends made in the same tick, and those arriving while a commit is in
 * flight, share the next transaction, so a busy worker pays one commit per batch instead of one per step.
 * Each promise settles only after its transaction commits.
 */
export class AppendBatcher {
  readonly #driver: StoreDriver;
  readonly #onCommitted: (runIds: readonly string[]) => void;
  /** This store's listener id: its own waiters are woken in process, so its writes notify only the others. */
  readonly #notifyAs: string;
  readonly #stats: AppendStats = {
    commits: 0,
    fencedCommits: 0,
    requests: 0,
    events: 0,
    rejected: 0,
  };
  /** Each run's head as this store last wrote it, so the next append can be one fenced statement. */
  readonly #heads = new Map<string, KnownHead>();
  #queue: Pending[] = [];
  #draining: Promise<void> | null = null;
  #closed = false;

  constructor(driver: StoreDriver, onCommitted: (runIds: readonly string[]) => void, notifyAs: string) {
    this.#driver = driver;
    this.#notifyAs = notifyAs;
    this.#onCommitted = onCommitted;
  }

  /** A snapshot of the counters. */
  get stats(): AppendStats {
    return { ...this.#stats };
  }

  /** How many runs' heads are remembered now; a test uses it to prove ended and suspended runs keep none. */
  get knownHeads(): number {
    return this.#heads.size;
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

  /**
   * Remember a run's head (most recently written last, so the map's first entries are the stalest). An ended run's
   * head is forgotten, and so is a suspended one's: the fenced statement never appends to a suspended run (its
   * next events come under a new lease, through the locking transaction), and a process with thousands of runs
   * suspended — a parent's waiting children — would otherwise hold one head per run for nothing.
   */
  remember(runId: string, head: KnownHead): void {
    this.#heads.delete(runId);
    if (TERMINAL.has(head.status) || head.status === "suspended") return;
    this.#heads.set(runId, head);
    if (this.#heads.size > MAX_KNOWN_HEADS) this.#heads.delete(this.#heads.keys().next().value!);
  }

  /**
   * Commit a batch: every request whose run's head this store knows goes in one fenced statement; the rest, and
   * any the statement found moved on (another writer, a new lease), go through the locking transaction.
   */
  async #commit(batch: Pending[]): Promise<void> {
    const at = new Date().toISOString();
    const perRun = new Map<string, number>();
    for (const pending of batch) {
      const runId = pending.request.lease.runId;
      perRun.set(runId, (perRun.get(runId) ?? 0) + 1);
    }
    const fenced: { pending: Pending; item: FencedRequest }[] = [];
    let locking: Pending[] = [];
    for (const pending of batch) {
      const { request } = pending;
      const head = this.#heads.get(request.lease.runId);
      // Approvals, suspends, a suspended run's end and a child run's end update more than the fenced statement
      // writes: the locking transaction does those. A running run without a parent ends in the fenced statement.
      const simple =
        head !== undefined &&
        head.status !== "suspended" &&
        perRun.get(request.lease.runId) === 1 &&
        !request.events.some(
          (event) => LOCKING_EVENTS.has(event.type) && !(event.type === "run-end" && head.parentless),
        );
      if (simple) fenced.push({ pending, item: { request, head } });
      else locking.push(pending);
    }
    if (fenced.length > 0) {
      let outcomes: Awaited<ReturnType<typeof appendFenced>>;
      try {
        outcomes = await appendFenced(
          this.#driver.sql,
          fenced.map(({ item }) => item),
          at,
          this.#notifyAs,
        );
      } catch (error) {
        // Nothing of the statement was written, or (a commit whose answer was lost) it cannot be known: every
        // caller hears the failure, and the next append of these runs reads the head again.
        for (const { pending } of fenced) {
          this.#heads.delete(pending.request.lease.runId);
          pending.reject(error);
        }
        fenced.length = 0;
        outcomes = [];
      }
      const written: string[] = [];
      outcomes.forEach((outcome, index) => {
        const { pending } = fenced[index]!;
        const runId = pending.request.lease.runId;
        if (!outcome) {
          this.#heads.delete(runId);
          locking.push(pending);
          return;
        }
        this.remember(runId, outcome.head);
        this.#stats.requests += 1;
        this.#stats.events += outcome.events.length;
        written.push(runId);
        pending.resolve(outcome.events);
      });
      if (written.length > 0) {
        this.#stats.commits += 1;
        this.#stats.fencedCommits += 1;
        this.#onCommitted(written);
      }
      // Keep the batch's order for the transaction: a run with two requests in it must see them in turn.
      if (locking.length > 1) {
        const left = new Set(locking);
        locking = batch.filter((pending) => left.has(pending));
      }
    }
    if (locking.length > 0) await this.#commitLocking(locking, at);
  }

  async #commitLocking(batch: Pending[], at: string): Promise<void> {
    let result: Awaited<ReturnType<typeof commitAppends>>;
    try {
      result = await this.#driver.transaction(
        async (tx) =>
          await commitAppends(
            tx,
            batch.map((pending) => pending.request),
            at,
            undefined,
            this.#notifyAs,
          ),
      );
    } catch (error) {
      // The transaction rolled back: nothing of this batch was written, so every caller hears the failure.
      for (const pending of batch) {
        this.#heads.delete(pending.request.lease.runId);
        pending.reject(error);
      }
      return;
    }
    this.#stats.commits += 1;
    this.#stats.requests += batch.length;
    for (const [runId, head] of result.heads) {
      // Whether the run has a parent is carried over from what the claim said; not known, it is taken as a child.
      if (head.changed) this.remember(runId, knownHead(head, this.#heads.get(runId)?.parentless ?? false));
      else this.#heads.delete(runId);
    }
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

function knownHead(head: Omit<KnownHead, "parentless">, parentless: boolean): KnownHead {
  return {
    parentless,
    status: head.status,
    lastSeq: head.lastSeq,
    lastHash: head.lastHash,
    answer: head.answer,
    error: head.error,
  };
}
