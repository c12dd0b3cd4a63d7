import { randomBytes } from "node:crypto";
import type { Lease, Store } from "../src/store/store.ts";

const LEASE_TTL_MS = 10 * 60_000;

/**
 * Create `count` runs and lease each of them, as a worker would before appending; with `subject`, runs about that
 * person, whose personal fields the store seals.
 */
export async function leasedRuns(
  store: Store,
  count: number,
  options: { subject?: string } = {},
): Promise<Lease[]> {
  const leases: Lease[] = [];
  for (let index = 0; index < count; index += 1) {
    const runId = `run_bench_${randomBytes(8).toString("hex")}`;
    const now = new Date();
    await store.createRun({
      runId,
      start: {
        agent: "bench-append",
        agentVersion: "1.0.0",
        specHash: "sha256:bench",
        input: "append benchmark",
        principal: { subject: "bench", tenant: "default", roles: [] },
        startedAt: now.toISOString(),
        deadlineAt: new Date(now.getTime() + LEASE_TTL_MS).toISOString(),
        maxSteps: 1_000_000,
      },
      ...(options.subject === undefined ? {} : { subject: options.subject }),
    });
    const lease = await store.acquireLease({ runId, owner: "bench-append", ttlMs: LEASE_TTL_MS });
    if (!lease) throw new Error(`could not lease ${runId}`);
    leases.push(lease);
  }
  return leases;
}
