import { KeelError } from "../errors/index.ts";
import type { JournalEvent, NewEvent } from "../journal/index.ts";
import type { JournalTransactionResult, Store } from "../store/index.ts";

/** How long a decision's lease lives when it is handed to a worker, which renews it from then on. */
const LEASE_TTL_MS = 10_000;

/**
 * Decide from a run's journal and append the decision in one transaction under the run's lease, so a decision
 * is fenced like any other writer (invariant 3) and costs one commit. A run whose lease is held (another
 * decision, or a worker carrying out a cancel) is retried for up to `waitMs`. The lease is released in the same
 * commit unless `keepLease` says the caller will hand the run on (then it must release it if that fails).
 */
export async function withRunLease<T>(options: {
  store: Store;
  runId: string;
  owner: string;
  waitMs?: number;
  decide: (journal: JournalEvent[]) => { events: readonly NewEvent[]; result: T };
  keepLease?: (result: T) => boolean;
}): Promise<JournalTransactionResult<T>> {
  const { store, runId, owner } = options;
  const deadline = Date.now() + (options.waitMs ?? 2_000);
  const attempt = async () =>
    await store.journalTransaction<T>({
      runId,
      owner,
      ttlMs: LEASE_TTL_MS,
      release: (result) => !(options.keepLease?.(result) ?? false),
      decide: options.decide,
    });
  let outcome = await attempt();
  for (let pause = 2; outcome === null && Date.now() < deadline; pause = Math.min(pause * 2, 50)) {
    const run = await store.getRun(runId);
    if (run === null || !["queued", "running", "suspended"].includes(run.status)) {
      throw new KeelError("conflict", `run ${runId} has ended (${run?.status ?? "missing"})`);
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    outcome = await attempt();
  }
  if (outcome === null) {
    throw new KeelError(
      "conflict",
      `run ${runId} is busy (another decision or a worker holds it); try again`,
    );
  }
  return outcome;
}
