import type { JournalEvent, NewEvent, PayloadOf, RunStatus } from "../journal/index.ts";
import type { ListPosition } from "./list-position.ts";
import type { CancelRequest, RunRecord } from "./run-record.ts";
import type { RunTreeStore } from "./run-tree-store.ts";

export type { RunRecord } from "./run-record.ts";

/** A worker's exclusive right to append to one run. `token` is the fencing token the store checks. */
export type Lease = {
  runId: string;
  owner: string;
  token: number;
  expiresAt: Date;
  /**
   * Set for a run with a data subject: the id of the subject's key its appends seal personal fields with
   * (docs/sessions-and-memory.md, Erasure). Absent, an append does no sealing work at all.
   */
  sealWith?: string;
};

/** The minimal SQL surface handed to tools and examples that keep their own tables in the same database. */
export interface SqlClient {
  /** Which database answers, for the few queries shaped differently for one driver's costs; may be absent. */
  readonly kind?: "pglite" | "postgres";
  /**
   * Run one statement. `options.prepared` names it as a prepared statement: the database parses it once and plans
   * it once when a generic plan serves as well as one per call — per connection on PostgreSQL, per instance on
   * PGlite, where it also goes as one protocol message instead of six (pglite-sql-client.ts). Only for a statement
   * whose text never changes under that name.
   */
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
    options?: { prepared?: string },
  ): Promise<{ rows: Row[] }>;
  /** Run `work` in one transaction on one connection. */
  transaction<T>(work: (sql: SqlClient) => Promise<T>): Promise<T>;
}

/** What `journalTransaction` is asked to do. */
export type JournalTransactionOptions<T> = {
  runId: string;
  owner: string;
  ttlMs: number;
  /** Give the lease up in the same commit (and wake workers); false keeps it for the caller to hand on. */
  release: boolean | ((result: T) => boolean);
  /** Decide from the run's journal what to append; a throw rolls everything back, the lease included. */
  decide: (journal: JournalEvent[]) => { events: readonly NewEvent[]; result: T };
};

/** The outcome: the lease taken (released already when asked), the journal read, what was written. */
export type JournalTransactionResult<T> = {
  lease: Lease;
  released: boolean;
  journal: JournalEvent[];
  written: JournalEvent[];
  result: T;
};

export type CreateRunOptions = {
  runId: string;
  /** The run's first event (seq 1), written in the same transaction as the run row. */
  start: PayloadOf<"run-start">;
  /** A repeat of the same key for the same agent returns the existing run instead of a new one. */
  idempotencyKey?: string;
  /**
   * Create the run already leased to this owner (fencing token 1), so no worker claims it before its creator
   * appends: for runs Keel writes itself, such as the drift monitor's alarms.
   */
  leaseTo?: { owner: string; ttlMs: number };
  /**
   * Create the run as a child of `runId`, started by its node `node`. The store checks the parent exists, acts for
   * the same tenant and has not ended, writes `parent` (with the tree's root) into the run-start event, and creates
   * the child already marked for cancellation when a cancel of the parent came first.
   */
  parent?: { runId: string; node: string };
  /**
   * Start the run as the next message of this session: in the same transaction the store checks the session exists,
   * is not deleted, belongs to the run's agent and tenant and has no run still going (else `conflict`), writes
   * `session` (with the message's number) into the run-start event and appends the run to the session's runs. An
   * idempotency key that repeats answers the run it started, whatever the session's state.
   */
  session?: { sessionId: string };
  /**
   * The person the run is about (its data subject), in the run's tenant: the personal fields of its journal payloads
   * are sealed under the subject's key, which erasing the subject destroys. A session's run takes the session's
   * subject and a child run its parent's; naming another one for them is refused.
   */
  subject?: string;
};

/** What `listRuns` reads: its filters, how many runs, and where the page starts. */
export type ListRunsOptions = {
  agent?: string;
  status?: RunStatus;
  limit?: number;
  /** Only runs created strictly before this instant. */
  before?: Date;
  /** Only the runs after this position in the listing's order: the next page after the one that ended there. */
  startAfter?: ListPosition;
  /** Only runs acting for this tenant. */
  tenant?: string;
  /** Only these runs: a page of runs another list found (a trace search), read with their inputs and answers. */
  ids?: readonly string[];
};

/** One page of a run listing and the position the next page starts after (null on the last page). */
export type RunPage = { runs: RunRecord[]; next: ListPosition | null };

/**
 * The durable home of runs and their journals. PGlite and PostgreSQL implement it with the same SQL
 * and pass the same contract suite (store-contract.ts). The approval queue and the audit log are read through
 * ports of their own, `ApprovalQueries` (approval-store.ts) and `AuditQueries` (audit-store.ts).
 */
export interface Store extends RunTreeStore {
  /** Which implementation this is, for logs and reports. */
  readonly kind: "pglite" | "postgres";
  /** SQL access to the same database, for tools that keep their own schema beside Keel's. */
  readonly sql: SqlClient;

  /** Apply pending migrations; safe to call on every start and from several processes. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  /** Create a queued run with its `run-start` event, or return the existing one when the idempotency key repeats. */
  createRun(options: CreateRunOptions): Promise<{ run: RunRecord; created: boolean }>;
  getRun(runId: string): Promise<RunRecord | null>;
  listRuns(options: ListRunsOptions): Promise<RunPage>;

  /** Take the lease if nobody holds a live one; the token increases on every grant. */
  acquireLease(options: { runId: string; owner: string; ttlMs: number }): Promise<Lease | null>;
  /** Extend a lease still held with this token; null when it was lost. */
  renewLease(options: { lease: Lease; ttlMs: number }): Promise<Lease | null>;
  releaseLease(lease: Lease): Promise<void>;
  /**
   * Lease up to `limit` runs that need a worker and have no live lease: queued runs, running runs whose lease
   * expired or was released (their worker died or stopped), suspended runs with a cancel request, and suspended
   * runs whose durable timer came due by the database clock: for those the claim journals `timer-fire` and
   * `run-resume` under the lease it grants (fenced, so once however many workers race), and the worker receives a
   * running run. Suspended runs are otherwise left in the store until something resumes them (invariant 7).
   */
  claimRuns(options: {
    owner: string;
    ttlMs: number;
    limit: number;
    agents?: readonly string[];
  }): Promise<Lease[]>;

  /**
   * Append events to a run under a lease. The store assigns dense `seq`, hashes and `at`, and rejects the
   * whole append with `stale_lease` when the token is not the run's current one. Appends from one tick
   * are committed together (group commit); the promise resolves once they are durable.
   *
   * `typed`: the interpreter built these events (its own typed code, with what came from outside checked where it
   * entered), so the store skips parsing each payload against its schema; see validateNewEvents.
   */
  append(options: { lease: Lease; events: readonly NewEvent[]; typed?: boolean }): Promise<JournalEvent[]>;
  /** Events of a run with `seq > afterSeq`, in order. */
  /**
   * A run's events in order. The personal fields of a run with a data subject come back plain while the subject's
   * key exists and as `{"erased": true}` after; `asStored` returns them sealed, as stored and hashed, which is what a
   * verifier of the hash chain needs (and needs no key for).
   */
  readEvents(options: {
    runId: string;
    afterSeq?: number;
    limit?: number;
    asStored?: boolean;
  }): Promise<JournalEvent[]>;
  /** Resolve when the run may have new events after `afterSeq`, or after `timeoutMs`. */
  waitForEvents(options: {
    runId: string;
    afterSeq: number;
    timeoutMs: number;
    signal?: AbortSignal;
  }): Promise<void>;

  /**
   * Mark a run and every descendant that has not ended for cancellation; the worker holding each (or the next one
   * to claim it) ends it, journaling `request` (`cancelTree`). Returns the run as it now stands; an ended run comes
   * back unchanged.
   */
  requestCancel(runId: string, request: CancelRequest): Promise<RunRecord | null>;
  /** Resolve when there may be new runnable work, or after `timeoutMs`. */
  waitForWork(options: { timeoutMs: number; signal?: AbortSignal }): Promise<void>;

  /**
   * In one transaction: take the run's lease (null when a live lease exists or the run has ended), read its
   * journal, append what `decide` makes of it (fenced and projected like any append), and release the lease when
   * asked. For decisions made outside a worker, such as an approval: one commit, and a refused decision (a throw
   * in `decide`) leaves no trace, not even a spent fencing token.
   */
  journalTransaction<T>(options: JournalTransactionOptions<T>): Promise<JournalTransactionResult<T> | null>;
}
