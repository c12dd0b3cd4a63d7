import { KeelError } from "../errors/keel-error.ts";
import type { JournalEvent } from "../journal/events.ts";
import type { Lease, Store } from "../store/store.ts";

/** How long a decision's lease lives: it is held for one read and one append. */
const LEASE_TTL_MS = 10_000;

/**
 * Run `work` holding the run's lease, so a decision is fenced like any other writer (invariant 3): the store
 * rejects its append if the lease was lost, and no worker can write to the run meanwhile. A run whose lease is
 * held (another decision, or a worker carrying out a cancel) is retried for up to `waitMs`. Releasing the lease
 * of a run that needs a worker again announces it, so a worker claims it at once.
 */
export async function withRunLease<T>(options: {
  store: Store;
  runId: string;
  owner: string;
  waitMs?: number;
  work: (lease: Lease, events: JournalEvent[]) => Promise<T>;
}): Promise<T> {
  const { store, runId, owner } = options;
  const deadline = Date.now() + (options.waitMs ?? 2_000);
  let lease = await store.acquireLease({ runId, owner, ttlMs: LEASE_TTL_MS });
  for (let pause = 2; lease === null && Date.now() < deadline; pause = Math.min(pause * 2, 50)) {
    const run = await store.getRun(runId);
    if (run === null || !["queued", "running", "suspended"].includes(run.status)) {
      throw new KeelError("conflict", `run ${runId} has ended (${run?.status ?? "missing"})`);
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    lease = await store.acquireLease({ runId, owner, ttlMs: LEASE_TTL_MS });
  }
  if (lease === null) {
    throw new KeelError(
      "conflict",
      `run ${runId} is busy (another decision or a worker holds it); try again`,
    );
  }
  try {
    const events = await store.readEvents({ runId });
    return await options.work(lease, events);
  } finally {
    await store.releaseLease(lease).catch(() => undefined);
  }
}
