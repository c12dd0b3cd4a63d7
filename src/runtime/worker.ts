import { isKeelError } from "../errors/index.ts";
import type { Governor } from "../governance/index.ts";
import type { PayloadSealer } from "../guards/index.ts";
import type { JournalEvent } from "../journal/index.ts";
import type { CancelRequest, Lease, RunRecord, SealedArgumentsStore, Store } from "../store/index.ts";
import {
  cancelMessage,
  descendantCancelRequest,
  isStoreUnavailable,
  SYSTEM_ACTOR,
  sqlSessionQueries,
  UNRECORDED_CANCEL,
} from "../store/index.ts";
import type { AgentDefinition, AgentLookup } from "./agent-definition.ts";
import { createChildRuns } from "./child-runs.ts";
import type { Graph } from "./graph.ts";
import { interpret } from "./interpret.ts";
import { createLiveText, type LiveText } from "./live-text.ts";
import { redactionPolicyOf } from "./protect-events.ts";
import { restoreSealedArguments } from "./restore-sealed-arguments.ts";
import { RunInterrupt } from "./run-interrupt.ts";
import { RunJournal } from "./run-journal.ts";
import { foldEvents, isFinished } from "./run-state.ts";
import { singleAgentGraph } from "./single-agent-graph.ts";
import { workflowGraph } from "./workflow-graph.ts";

export type WorkerOptions = {
  store: Store;
  agents: AgentLookup;
  /**
   * The version of an agent a workflow node starts as a child run (an `agent` node, a branch, a handoff): the
   * current one by name. Absent, workflow nodes that start child runs fail the run saying this worker cannot.
   */
  agentNamed?: (name: string) => AgentDefinition | undefined;
  /**
   * Decides every action the runs take (ARCHITECTURE.md invariant 2). Required: a worker cannot run ungoverned,
   * and a governor without policies for an agent denies everything that agent tries.
   */
  governor: Governor;
  /** Unique per process; recorded on leases and resume events. */
  owner: string;
  /** A lease not renewed within this time is taken over by another worker. */
  leaseTtlMs?: number;
  /** Runs interpreted at once by this worker. */
  concurrency?: number;
  /** Claim only runs of these agents (default: any agent). */
  claimAgents?: readonly string[];
  /** The graph every run walks; absent, an agent's runs walk the agent loop and a workflow's its own nodes. */
  graph?: Graph;
  /** Where the worker reports problems it cannot journal (a lost lease, a store outage). */
  log?: (message: string) => void;
  /**
   * Where the original arguments of calls masked in the journal are kept, encrypted, for a resume
   * (docs/security.md). Absent: redaction still masks the journal, and a held call whose arguments were
   * masked is refused after a restart instead of run with placeholders.
   */
  sealing?: { sealer: PayloadSealer; store: SealedArgumentsStore };
  /** Where the runs' model turns stream their text live (default: a hub of the worker's own). */
  liveText?: LiveText;
};

/** A worker claims runnable runs from the store and interprets them; any number may share one store. */
export type Worker = {
  readonly owner: string;
  start(): void;
  /**
   * Drain: stop claiming at once, let each active run finish the step it is in and stop at the boundary after it,
   * and release its lease so any worker resumes it at once. Runs still inside a step after `graceMs` (default 0)
   * are interrupted (their open call is left for the next holder to retry or reconcile) and released too.
   */
  stop(options?: StopOptions): Promise<void>;
  /**
   * Cancel a run this worker is interpreting now, journaling `request` (as the store recorded it) before its
   * run-end; false when it holds no such run.
   */
  cancel(runId: string, request: CancelRequest): boolean;
  /** Wake the claim loop now (new work was created in this process). */
  poke(): void;
  /**
   * Take over a run whose lease the caller holds, with the journal it read and wrote under that lease (an
   * approval just resumed it), so it continues without a release and a claim. False when this worker is full or
   * stopping; the caller then releases the lease and any worker claims the run.
   */
  adopt(lease: Lease, journal: readonly JournalEvent[]): boolean;
  readonly activeRuns: number;
  /** The live text of the runs this worker interprets: model turns as they stream, for the SSE stream. */
  readonly liveText: LiveText;
  /** True from the moment stop() is called: the process is draining and takes no new work. */
  readonly stopping: boolean;
};

/** How long a stopping worker lets runs finish the step they are in. */
export type StopOptions = { graceMs?: number };

type ActiveRun = { controller: AbortController; done: Promise<void> };

/** The first pause after the store failed to answer a claim, and the longest; it doubles in between. */
const CLAIM_BACKOFF_FIRST_MS = 100;
const CLAIM_BACKOFF_MAX_MS = 5_000;
/** How long the claim loop waits for a wake-up before looking for work again anyway. */
const CLAIM_WAIT_MS = 1_000;
/**
 * Why the claim loop ends its wait for work: given to abort() because an abort with no reason builds a DOMException,
 * stack trace and all, twice per run.
 */
const WAIT_OVER = new Error("the claim loop stopped waiting for work");

export function createWorker(options: WorkerOptions): Worker {
  const { store, agents, owner, governor } = options;
  // A session's run reads the session's earlier turns from the same database.
  const sessions = sqlSessionQueries(store.sql);
  const leaseTtlMs = options.leaseTtlMs ?? 15_000;
  const concurrency = options.concurrency ?? 16;
  const log = options.log ?? ((message: string) => console.error(message));
  const active = new Map<string, ActiveRun>();
  const liveText = options.liveText ?? createLiveText();
  // Aborted by stop(): no more claims, and each run stops at the next step boundary.
  const stopping = new AbortController();
  // Aborted when the grace period is over: runs still inside a step are interrupted.
  const shutdown = new AbortController();
  // Each graph ends a run's turn at the first boundary after stop(), without cutting the step in progress short.
  const graphs = new WeakMap<object, Graph>();
  const stoppable = (base: Graph): Graph => ({
    ...base,
    next: (state) => (stopping.signal.aborted ? null : base.next(state)),
  });
  const agentLoop = stoppable(options.graph ?? singleAgentGraph);
  function graphFor(agent: AgentDefinition): Graph {
    if (options.graph || !agent.workflow) return agentLoop;
    let graph = graphs.get(agent.workflow);
    if (!graph) {
      graph = stoppable(workflowGraph(agent.workflow));
      graphs.set(agent.workflow, graph);
    }
    return graph;
  }
  let wake: (() => void) | null = null;
  let loop: Promise<void> | null = null;

  const poke = () => {
    wake?.();
  };

  /** Pause for `ms`, cut short by stop(). */
  async function pause(ms: number): Promise<void> {
    if (stopping.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stopping.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      stopping.signal.addEventListener("abort", done, { once: true });
    });
  }

  async function claimLoop(): Promise<void> {
    // Consecutive claims that failed: while the store is unreachable the loop backs off instead of spinning,
    // and it resumes by itself once the store answers again.
    let failures = 0;
    let lastFailure = "";
    while (!stopping.signal.aborted) {
      const free = concurrency - active.size;
      let claimed: Lease[] = [];
      if (free > 0) {
        try {
          claimed = await store.claimRuns({
            owner,
            ttlMs: leaseTtlMs,
            limit: free,
            ...(options.claimAgents ? { agents: options.claimAgents } : {}),
          });
          if (failures > 0) log(`worker ${owner}: the store answers again; claiming resumed`);
          failures = 0;
          lastFailure = "";
        } catch (error) {
          failures += 1;
          const delayMs = Math.min(CLAIM_BACKOFF_FIRST_MS * 2 ** (failures - 1), CLAIM_BACKOFF_MAX_MS);
          const reason = errorText(error);
          const unreachable = isStoreUnavailable(error);
          // One line per kind of failure, not one per attempt, through an outage of any length: an unreachable
          // store is one kind whatever the driver says each time (refused, reset, terminated), other errors one
          // kind per message.
          const kind = unreachable ? "unreachable" : reason;
          if (kind !== lastFailure) {
            const what = unreachable ? "the store is unreachable" : "claiming runs failed";
            log(
              `worker ${owner}: ${what} (${reason}); retrying with backoff up to ${CLAIM_BACKOFF_MAX_MS} ms`,
            );
          }
          lastFailure = kind;
          await pause(delayMs);
          continue;
        }
        // stop() came while the claim was in flight: hand these back untouched rather than start them.
        if (stopping.signal.aborted) {
          await Promise.all(claimed.map(async (lease) => await releaseQuietly(lease)));
          break;
        }
        for (const lease of claimed) startRun(lease);
      }
      if (claimed.length > 0 && claimed.length === free) continue;
      // Nothing between this check and the listener below awaits, so a stop() is either seen here or ends the wait.
      if (stopping.signal.aborted) break;
      const poked = new Promise<void>((resolve) => {
        wake = resolve;
      });
      // Not AbortSignal.any([stopping.signal, …]): every call leaves a weak reference on the long-lived stop
      // signal, so a worker claiming 100,000 runs grew by tens of MiB. A listener removed after the wait leaves none.
      const waitController = new AbortController();
      const onStop = () => waitController.abort(WAIT_OVER);
      stopping.signal.addEventListener("abort", onStop, { once: true });
      await Promise.race([
        poked,
        store.waitForWork({ timeoutMs: CLAIM_WAIT_MS, signal: waitController.signal }).catch(() => undefined),
      ]);
      stopping.signal.removeEventListener("abort", onStop);
      waitController.abort(WAIT_OVER);
      wake = null;
    }
  }

  async function releaseQuietly(lease: Lease): Promise<void> {
    try {
      await store.releaseLease(lease);
    } catch (error) {
      log(
        `worker ${owner}: releasing the lease of ${lease.runId} failed (it expires by itself): ${errorText(error)}`,
      );
    }
  }

  function startRun(lease: Lease, journal?: readonly JournalEvent[]): void {
    const controller = new AbortController();
    const done = driveRun(lease, controller, journal)
      .catch((error: unknown) => log(`worker ${owner}: run ${lease.runId}: ${errorText(error)}`))
      .finally(() => {
        active.delete(lease.runId);
        poke();
      });
    active.set(lease.runId, { controller, done });
  }

  async function driveRun(
    lease: Lease,
    controller: AbortController,
    handedOver?: readonly JournalEvent[],
  ): Promise<void> {
    let current: Lease = lease;
    const heartbeat = setInterval(
      () => {
        void (async () => {
          try {
            const renewed = await store.renewLease({ lease: current, ttlMs: leaseTtlMs });
            if (!renewed) {
              controller.abort(new RunInterrupt("lease_lost", "the run's lease was lost"));
              return;
            }
            current = renewed;
            const run = await store.getRun(lease.runId);
            if (run?.cancelRequested) controller.abort(RunInterrupt.cancel(cancelRequestOf(run)));
          } catch (error) {
            log(`worker ${owner}: renewing the lease of ${lease.runId} failed: ${errorText(error)}`);
          }
        })();
      },
      Math.max(50, Math.floor(leaseTtlMs / 3)),
    );
    let deadlineTimer: NodeJS.Timeout | undefined;
    const onShutdown = () => controller.abort(new RunInterrupt("shutdown", "the worker is shutting down"));
    shutdown.signal.addEventListener("abort", onShutdown, { once: true });
    try {
      // A run handed over with its journal (adopt) was read under this very lease: nobody else wrote since.
      const [events, run] = handedOver
        ? [[...handedOver], null]
        : await Promise.all([store.readEvents({ runId: lease.runId }), store.getRun(lease.runId)]);
      const sealing = options.sealing;
      const restored = sealing
        ? restoreSealedArguments(events, await sealing.store.read(lease.runId), sealing.sealer)
        : events;
      const state = foldEvents(restored);
      const agent = agents(state.agent, state.agentVersion);
      const policy = redactionPolicyOf({
        runId: lease.runId,
        guards: agent?.guards,
        sealer: sealing?.sealer,
      });
      const journal = new RunJournal({
        store,
        lease,
        state,
        redaction: { policy, ...(sealing ? { sealed: sealing.store } : {}) },
      });
      // A suspended run is claimed with its cancel requested only to be ended: the interpreter ends it at once.
      if (run?.cancelRequested) controller.abort(RunInterrupt.cancel(cancelRequestOf(run)));
      if (!agent) {
        await journal.commit({
          type: "run-end",
          payload: {
            status: "failed",
            error: {
              code: "not_found",
              message: `agent ${state.agent}@${state.agentVersion} is not loaded by any worker`,
            },
            steps: state.step,
          },
        });
        return;
      }
      const remaining = Date.parse(state.deadlineAt) - Date.now();
      deadlineTimer = setTimeout(
        () =>
          controller.abort(
            new RunInterrupt("timeout", `the run passed its timeout of ${agent.limits.runTimeout} ms`),
          ),
        Math.max(0, remaining),
      );
      if (wasInterrupted(events)) {
        journal.stage({
          type: "run-resume",
          payload: { reason: "resumed from the journal after interruption", worker: owner },
        });
      }
      const children = options.agentNamed
        ? createChildRuns({
            store,
            parent: journal.state,
            parentAgent: agent,
            agentNamed: options.agentNamed,
            poke,
          })
        : undefined;
      try {
        await interpret(graphFor(agent), {
          agent,
          journal,
          signal: controller.signal,
          governor,
          sessions,
          liveJournal: (runId) => store.readEvents({ runId }),
          ...(children ? { children } : {}),
          live: liveText.writer(lease.runId),
        });
      } catch (error) {
        if (!isKeelError(error, "cancelled")) throw error;
        // The store's cancel fence refused work this run tried to start: its cancel was requested and committed
        // before the heartbeat saw it. Work still in flight here is aborted, and the run ends cancelled.
        const request = cancelRequestOf(await store.getRun(lease.runId));
        controller.abort(RunInterrupt.cancel(request));
        await endCancelled(journal, request);
      }
      // Nothing acts on a finished run's arguments again: its sealed originals go.
      if (sealing && isFinished(journal.state)) await sealing.store.drop(lease.runId);
      // A run that ended other than completed (cancelled, killed, failed, over budget) takes its live child runs
      // with it: a kill of the parent's agent reaches the children of other agents it started.
      if (isFinished(journal.state) && journal.state.status !== "completed")
        await cancelChildren(lease.runId, journal.state.status);
    } catch (error) {
      if (isKeelError(error, "stale_lease")) {
        log(`worker ${owner}: lost run ${lease.runId} to another worker; stopped writing`);
        return;
      }
      throw error;
    } finally {
      clearInterval(heartbeat);
      clearTimeout(deadlineTimer);
      shutdown.signal.removeEventListener("abort", onShutdown);
      // Released at once, fenced by its token, so another worker resumes the run now rather than at lease expiry.
      await releaseQuietly(current);
    }
  }

  /**
   * End a run cancelled after the cancel fence refused a batch of its events. The state in memory had folded them
   * in, so the step count is taken from the journal as stored.
   */
  async function endCancelled(journal: RunJournal, request: CancelRequest): Promise<void> {
    const stored = foldEvents(await store.readEvents({ runId: journal.state.runId }));
    if (isFinished(stored)) return;
    const { by, reason } = request;
    await journal.commit(
      { type: "run-cancel", payload: { requestedBy: by, ...(reason === undefined ? {} : { reason }) } },
      {
        type: "run-end",
        payload: {
          status: "cancelled",
          error: { code: "cancelled", message: cancelMessage(request) },
          steps: stored.step,
        },
      },
    );
  }

  /** Cancel a finished run's live descendants; one look at its children when it has none. */
  async function cancelChildren(runId: string, status: string): Promise<void> {
    try {
      if ((await store.listChildren({ runId, limit: 1 })).length === 0) return;
      const request = { by: SYSTEM_ACTOR, reason: `run ${runId} ended ${status}` };
      const cancelled = await store.cancelTree(runId, request);
      // The ended run itself is not marked: every run marked is a descendant, and was given this request.
      const reached = RunInterrupt.cancel(descendantCancelRequest(runId, request));
      for (const marked of cancelled?.marked ?? []) active.get(marked)?.controller.abort(reached);
    } catch (error) {
      log(`worker ${owner}: cancelling the child runs of ${runId} failed: ${errorText(error)}`);
    }
  }

  return {
    owner,
    start() {
      loop ??= claimLoop();
    },
    async stop(stopOptions = {}) {
      stopping.abort();
      poke();
      await loop;
      const finished = Promise.all([...active.values()].map((run) => run.done));
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, stopOptions.graceMs ?? 0));
      });
      await Promise.race([finished, graceOver]);
      clearTimeout(timer);
      shutdown.abort();
      await Promise.all([...active.values()].map((run) => run.done));
    },
    cancel(runId, request) {
      const run = active.get(runId);
      if (!run) return false;
      run.controller.abort(RunInterrupt.cancel(request));
      return true;
    },
    poke,
    adopt(lease, journal) {
      if (stopping.signal.aborted || active.size >= concurrency || active.has(lease.runId)) return false;
      startRun(lease, journal);
      return true;
    },
    get activeRuns() {
      return active.size;
    },
    liveText,
    get stopping() {
      return stopping.signal.aborted;
    },
  };
}

/** Who asked for a run's cancel, as its row records it. */
function cancelRequestOf(run: RunRecord | null): CancelRequest {
  return run?.cancelRequest ?? UNRECORDED_CANCEL;
}

/**
 * A run that already took steps and is not finished was interrupted (its worker died or stopped) — unless the
 * last thing journaled is the resume that made it runnable again (a person's decision).
 */
function wasInterrupted(events: readonly JournalEvent[]): boolean {
  return events.at(-1)?.type !== "run-resume" && events.some((event) => event.type === "step-start");
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
