import { type KeyObject, randomUUID } from "node:crypto";
import { isKeelError, KeelError } from "../errors/index.ts";
import type {
  JournalEvent,
  NewEvent,
  SignedCheckpoint,
  StoredLeafRow,
  SubtreeHashes,
} from "../journal/index.ts";
import { AppendBatcher, type AppendStats } from "./append-batcher.ts";
import { approvalStats, approvalWithTenant, getApproval, listApprovals } from "./approval-queries.ts";
import type {
  ApprovalQueries,
  ApprovalRecord,
  ApprovalStatsRow,
  ListApprovalsOptions,
} from "./approval-store.ts";
import { readAuditKeys } from "./audit-keys.ts";
import { leafIndexOf, readLatestCheckpoint, readLeaves } from "./audit-log-queries.ts";
import type { AuditQueries } from "./audit-store.ts";
import { storeSubtreeHashes } from "./audit-subtree-hashes.ts";
import { insertRun } from "./insert-run.ts";
import { journalTransaction } from "./journal-transaction.ts";
import { exactInstantSql, pageOf } from "./list-position.ts";
import { LISTENER_RENEW_MS, registerListener, renewListener, unregisterListener } from "./listeners.ts";
import { RunLeases } from "./run-leases.ts";
import { runMigrations } from "./run-migrations.ts";
import type { CancelRequest } from "./run-record.ts";
import {
  batchesFrom,
  EVENT_COLUMNS,
  type EventRow,
  RUN_COLUMNS,
  type RunRow,
  toJournalEvent,
  toRunRecord,
} from "./run-rows.ts";
import { cancelTree, getRunTree, listChildren } from "./run-tree-queries.ts";
import type { CancelTreeResult, ListChildrenOptions, RunTree, RunTreeOptions } from "./run-tree-store.ts";
import type {
  CreateRunOptions,
  JournalTransactionOptions,
  JournalTransactionResult,
  Lease,
  ListRunsOptions,
  RunPage,
  RunRecord,
  SqlClient,
  Store,
} from "./store.ts";
import type { NotificationSubscription, StoreDriver } from "./store-driver.ts";
import { openEvents, sealEvents } from "./subject-keys.ts";
import { validateNewEvents } from "./validate-new-events.ts";
import { EVENTS_CHANNEL, WakeUps, WORK_CHANNEL } from "./wake-ups.ts";

const DEFAULT_LIST_LIMIT = 50;
/** The first and the longest pause between attempts to subscribe to notifications again after a lost connection. */
const RESUBSCRIBE_FIRST_MS = 100;
const RESUBSCRIBE_MAX_MS = 5_000;
const MAX_LIST_LIMIT = 1_000;

/**
 * The one implementation of the Store port, and of the ApprovalQueries and AuditQueries ports, written once in SQL
 * that PGlite and PostgreSQL both run (invariant 6). PgliteStore and PostgresStore only hand it a driver.
 */
export class SqlStore implements Store, ApprovalQueries, AuditQueries {
  readonly kind: "pglite" | "postgres";
  readonly sql: SqlClient;
  readonly #driver: StoreDriver;
  readonly #batcher: AppendBatcher;
  readonly #leases: RunLeases;
  readonly #wakeUps = new WakeUps();
  /**
   * This store's row in `keel_listeners` once it LISTENs. Its own writes skip NOTIFY for it (its waiters are woken in
   * process), and writers elsewhere notify only while some store's row is live.
   */
  readonly #listenerId = randomUUID();
  #renewal: NodeJS.Timeout | null = null;
  #notificationsHeard = 0;
  #listening: Promise<NotificationSubscription> | null = null;
  #resubscribing: Promise<void> | null = null;
  readonly #closeSignal = new AbortController();
  #closing: Promise<void> | null = null;
  #closed = false;

  constructor(driver: StoreDriver) {
    this.kind = driver.kind;
    this.sql = driver.sql;
    this.#driver = driver;
    this.#batcher = new AppendBatcher(
      driver,
      (runIds) => {
        for (const runId of runIds) this.#wakeUps.notify(EVENTS_CHANNEL, runId);
      },
      this.#listenerId,
    );
    this.#leases = new RunLeases(
      driver.sql,
      () => this.#wakeUps.notify(WORK_CHANNEL),
      (rows) => {
        for (const row of rows) {
          this.#batcher.remember(row.run_id, {
            status: row.status,
            lastSeq: Number(row.last_seq),
            lastHash: row.last_hash,
            answer: row.answer,
            error: row.error as string | null,
            parentless: !row.has_parent,
          });
        }
      },
      this.#listenerId,
    );
  }

  /** Group-commit counters: compare `commits` with `requests` to see batching. */
  get stats(): AppendStats {
    return this.#batcher.stats;
  }

  /** NOTIFYs this store received from the database, its own included: a test counts what writers send. */
  get notificationsHeard(): number {
    return this.#notificationsHeard;
  }

  /**
   * Runs whose journal head this store remembers for its one-statement append: only runs being written under a
   * lease, never an ended or a suspended one, so a test can prove a suspended run holds nothing in the process.
   */
  get knownHeads(): number {
    return this.#batcher.knownHeads;
  }

  /** Waits not yet settled; zero once every waiter has returned, so a test can prove none leak. */
  get pendingWaits(): number {
    return this.#wakeUps.pending;
  }

  async migrate(): Promise<void> {
    await runMigrations(this.#driver);
  }

  /** Let queued appends commit, resolve every waiter, stop listening, and free what this store owns. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closeSignal.abort();
    this.#closing ??= (async () => {
      await this.#batcher.close();
      this.#wakeUps.close();
      await this.#resubscribing;
      if (this.#renewal) clearInterval(this.#renewal);
      const subscription = await this.#listening?.catch(() => null);
      await subscription?.stop();
      // Best effort: a row left behind only costs notifications until it expires.
      if (subscription) await unregisterListener(this.sql, this.#listenerId).catch(() => undefined);
      await this.#driver.close();
    })();
    await this.#closing;
  }

  async createRun(options: CreateRunOptions): Promise<{ run: RunRecord; created: boolean }> {
    const result = await insertRun(this.#driver, options, this.#listenerId);
    if (result.created) this.#wakeUps.notify(WORK_CHANNEL);
    return result;
  }

  async getRun(runId: string): Promise<RunRecord | null> {
    const { rows } = await this.sql.query<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM keel_runs WHERE run_id = $1`,
      [runId],
      { prepared: "keel_get_run" },
    );
    return rows[0] ? toRunRecord(rows[0]) : null;
  }

  /**
   * Newest first by creation time, the run id breaking ties; `startAfter` pages on from where the last page
   * stopped (list-position.ts), `before` reads the runs created strictly before an instant.
   */
  async listRuns(options: ListRunsOptions): Promise<RunPage> {
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new KeelError("invalid_request", `limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
    }
    const conditions: string[] = [];
    const params: unknown[] = [];
    // Conditions are built per call rather than `$1 IS NULL OR …` so the planner can use the indexes.
    if (options.tenant !== undefined) conditions.push(`tenant = $${params.push(options.tenant)}`);
    if (options.agent !== undefined) conditions.push(`agent = $${params.push(options.agent)}`);
    if (options.status !== undefined) conditions.push(`status = $${params.push(options.status)}`);
    if (options.before !== undefined) conditions.push(`created_at < $${params.push(options.before)}`);
    if (options.startAfter !== undefined) {
      const { createdAt, id } = options.startAfter;
      conditions.push(
        `(created_at, run_id) < ($${params.push(createdAt)}::timestamptz, $${params.push(id)})`,
      );
    }
    if (options.ids !== undefined) conditions.push(`run_id = ANY($${params.push([...options.ids])}::text[])`);
    const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
    const { rows } = await this.sql.query<RunRow & { position: string }>(
      `SELECT ${RUN_COLUMNS}, ${exactInstantSql("created_at")} AS position FROM keel_runs ${where}
        ORDER BY created_at DESC, run_id DESC LIMIT $${params.push(limit + 1)}`,
      params,
    );
    const page = pageOf(rows, limit, { idOf: (row) => row.run_id, toRecord: toRunRecord });
    return { runs: page.rows, next: page.next };
  }

  async acquireLease(options: { runId: string; owner: string; ttlMs: number }): Promise<Lease | null> {
    return await this.#leases.acquire(options);
  }

  async renewLease(options: { lease: Lease; ttlMs: number }): Promise<Lease | null> {
    return await this.#leases.renew(options);
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.#leases.release(lease);
  }

  async claimRuns(options: {
    owner: string;
    ttlMs: number;
    limit: number;
    agents?: readonly string[];
  }): Promise<Lease[]> {
    const { leases, due } = await this.#leases.claim(options);
    if (due.length === 0) return leases;
    const lost = new Set<Lease>();
    // Each due timer is journaled under the lease just granted: fenced like any append, so when two claims race
    // (one of them after the other's lease expired) only the holder of the current token writes it, and a crash
    // before the commit leaves `wake_at` set for the next claim.
    await Promise.all(
      due.map(async ({ lease, dueAt, childEnded }) => {
        try {
          // A run woken because a child run it waits on ended says so; its timer (if any) has not fired.
          await this.append({
            lease,
            events: childEnded
              ? [{ type: "run-resume", payload: { reason: "a child run ended", worker: options.owner } }]
              : [
                  { type: "timer-fire", payload: { dueAt: dueAt.toISOString() } },
                  { type: "run-resume", payload: { reason: "timer", worker: options.owner } },
                ],
          });
        } catch (error) {
          lost.add(lease);
          // A stale lease or an ended run is someone else's now; anything else leaves the run for the next claim.
          if (!isKeelError(error, "stale_lease") && !isKeelError(error, "conflict")) {
            await this.releaseLease(lease).catch(() => undefined);
          }
        }
      }),
    );
    return leases.filter((lease) => !lost.has(lease));
  }

  async append(options: {
    lease: Lease;
    events: readonly NewEvent[];
    typed?: boolean;
  }): Promise<JournalEvent[]> {
    const validated = validateNewEvents(options.events, { typed: options.typed === true });
    // Only a run with a data subject pays for sealing: for any other, this is one property read.
    const events = options.lease.sealWith
      ? await sealEvents(this.sql, options.lease.sealWith, validated)
      : validated;
    return await this.#batcher.append({ lease: options.lease, events });
  }

  async readEvents(options: {
    runId: string;
    afterSeq?: number;
    limit?: number;
    asStored?: boolean;
  }): Promise<JournalEvent[]> {
    if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 0)) {
      throw new KeelError("invalid_request", "limit must be a non-negative integer");
    }
    const { rows } = await this.sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM keel_events AS e
        WHERE run_id = $1 AND seq > $2 AND ${batchesFrom("e", "$1", "$2::bigint + 1")} ORDER BY seq LIMIT $3`,
      [options.runId, options.afterSeq ?? 0, options.limit ?? null],
      { prepared: "keel_read_events" },
    );
    const events = rows.map(toJournalEvent);
    return options.asStored ? events : await openEvents(this.sql, events);
  }

  /** Resolves at once when the run already has events after `afterSeq`; throws not_found for an unknown run. */
  async waitForEvents(options: {
    runId: string;
    afterSeq: number;
    timeoutMs: number;
    signal?: AbortSignal;
  }): Promise<void> {
    await this.#wakeUps.wait({
      topic: { channel: EVENTS_CHANNEL, runId: options.runId },
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      ready: async () => {
        // Subscribed while this wait already listens in process: a wake-up during the subscription is not lost.
        await this.#listen();
        const { rows } = await this.sql.query<{ last_seq: number }>(
          "SELECT last_seq FROM keel_runs WHERE run_id = $1",
          [options.runId],
          { prepared: "keel_run_last_seq" },
        );
        if (!rows[0]) throw new KeelError("not_found", `run ${options.runId} does not exist`);
        return Number(rows[0].last_seq) > options.afterSeq;
      },
    });
  }

  /** Sets the flag on a run and its descendants that have not ended; an ended run is returned unchanged. */
  async requestCancel(runId: string, request: CancelRequest): Promise<RunRecord | null> {
    return (await this.cancelTree(runId, request))?.run ?? null;
  }

  async listChildren(options: ListChildrenOptions): Promise<RunRecord[]> {
    return await listChildren(this.sql, options);
  }

  async getRunTree(options: RunTreeOptions): Promise<RunTree | null> {
    return await getRunTree(this.sql, options);
  }

  async cancelTree(runId: string, request: CancelRequest): Promise<CancelTreeResult | null> {
    const result = await cancelTree(this.#driver, runId, request, this.#listenerId);
    if (result && result.marked.length > 0) this.#wakeUps.notify(WORK_CHANNEL);
    return result;
  }

  async waitForWork(options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    await this.#wakeUps.wait({
      topic: { channel: WORK_CHANNEL },
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      // Subscribing takes round trips (LISTEN, then the listener row); a NOTIFY arriving meanwhile, or the wake-up
      // that follows registration, must find this wait already listening in process.
      ready: async () => {
        await this.#listen();
        return false;
      },
    });
  }

  async listApprovals(options: ListApprovalsOptions): Promise<ApprovalRecord[]> {
    return await listApprovals(this.sql, options);
  }

  async getApproval(approvalId: string): Promise<ApprovalRecord | null> {
    return await getApproval(this.sql, approvalId);
  }

  async approvalWithTenant(approvalId: string): Promise<{ record: ApprovalRecord; tenant: string } | null> {
    return await approvalWithTenant(this.sql, approvalId);
  }

  async approvalStats(options: { since?: Date; tenant?: string } = {}): Promise<ApprovalStatsRow[]> {
    return await approvalStats(this.sql, options);
  }

  async latestCheckpoint(): Promise<(SignedCheckpoint & { treeSize: number }) | null> {
    const latest = await readLatestCheckpoint(this.sql);
    return latest ? { body: latest.body, signature: latest.signature, treeSize: latest.treeSize } : null;
  }

  async auditKeys(): Promise<Map<string, KeyObject>> {
    return await readAuditKeys(this.sql);
  }

  async leafIndexOf(runId: string, seq: number): Promise<number | null> {
    return await leafIndexOf(this.sql, runId, seq);
  }

  async readLeaves(from: number, to: number): Promise<StoredLeafRow[]> {
    return await readLeaves(this.sql, from, to);
  }

  subtreeHashes(): SubtreeHashes {
    return storeSubtreeHashes(this.sql);
  }

  async journalTransaction<T>(
    options: JournalTransactionOptions<T>,
  ): Promise<JournalTransactionResult<T> | null> {
    const taken = await journalTransaction(this.#driver, options, this.#listenerId);
    if (!taken) return null;
    const { outcome, head, parentless } = taken;
    // A lease kept to be handed on (an approval resuming its run in an in-process worker) is this store's to write
    // with: the head it committed lets the holder's next append be the one fenced statement, not a transaction.
    if (!outcome.released && head) {
      this.#batcher.remember(options.runId, {
        status: head.status,
        lastSeq: head.lastSeq,
        lastHash: head.lastHash,
        answer: head.answer,
        error: head.error,
        // A child's end goes through the locking transaction, which counts it for the parent; a top-level run's end
        // is the one fenced statement.
        parentless,
      });
    }
    this.#wakeUps.notify(EVENTS_CHANNEL, options.runId);
    if (outcome.released) this.#wakeUps.notify(WORK_CHANNEL);
    return outcome;
  }

  /**
   * Subscribe to other connections' NOTIFYs before the first wait. A wait does not fail when the subscription
   * cannot be made (the database is unreachable): it still ends on its timeout, so callers poll meanwhile, and the
   * subscription is retried in the background.
   */
  async #listen(): Promise<void> {
    try {
      await this.#subscribe();
    } catch {
      this.#resubscribe();
    }
  }

  async #subscribe(): Promise<void> {
    if (this.#closed) return;
    if (!this.#listening) {
      const listening: Promise<NotificationSubscription> = this.#driver
        .listen({
          channels: [EVENTS_CHANNEL, WORK_CHANNEL],
          onNotification: (channel, payload) => {
            this.#notificationsHeard += 1;
            this.#wakeUps.notify(channel, payload);
          },
          onLost: () => {
            this.#listening = null;
            // Notifications sent while the connection was down are gone; waiters re-check instead.
            this.#wakeUps.notifyAll();
            this.#resubscribe();
          },
        })
        .then(async (subscription) => {
          try {
            await registerListener(this.sql, this.#listenerId);
          } catch (error) {
            await subscription.stop();
            throw error;
          }
          this.#renewListenerRow();
          // Writers that looked before the row was there skipped NOTIFY; what they wrote is committed now.
          this.#wakeUps.notifyAll();
          return subscription;
        })
        .catch((error: unknown) => {
          if (this.#listening === listening) this.#listening = null;
          throw error;
        });
      this.#listening = listening;
    }
    await this.#listening;
  }

  /** Keep this store's listener row alive; register again (and wake every waiter) if it expired meanwhile. */
  #renewListenerRow(): void {
    if (this.#renewal || this.#closed) return;
    let renewing = false;
    this.#renewal = setInterval(() => {
      if (renewing || this.#closed) return;
      renewing = true;
      void (async () => {
        if (!(await renewListener(this.sql, this.#listenerId))) {
          await registerListener(this.sql, this.#listenerId);
          this.#wakeUps.notifyAll();
        }
      })()
        // Unreachable now: the next tick tries again, and waits end on their timeouts meanwhile.
        .catch(() => undefined)
        .finally(() => {
          renewing = false;
        });
    }, LISTENER_RENEW_MS);
    this.#renewal.unref();
  }

  /**
   * Subscribe again after a lost connection, by itself, with capped exponential backoff: notifications from other
   * processes resume as soon as the database answers, whether or not anyone is waiting yet.
   */
  #resubscribe(): void {
    if (this.#closed || this.#resubscribing !== null) return;
    this.#resubscribing = (async () => {
      for (
        let delayMs = RESUBSCRIBE_FIRST_MS;
        !this.#closed;
        delayMs = Math.min(delayMs * 2, RESUBSCRIBE_MAX_MS)
      ) {
        await this.#pause(delayMs);
        try {
          await this.#subscribe();
          // Whatever was notified while nobody listened is lost: let every waiter look again.
          this.#wakeUps.notifyAll();
          break;
        } catch {
          // Still unreachable: wait longer and try again.
        }
      }
      this.#resubscribing = null;
    })();
  }

  /** Sleep, cut short when the store closes. */
  async #pause(ms: number): Promise<void> {
    if (this.#closed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const signal = this.#closeSignal.signal;
      signal.addEventListener("abort", done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
    });
  }
}
