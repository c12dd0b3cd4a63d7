import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isKeelError } from "../errors/index.ts";
import type { JournalEvent } from "../journal/index.ts";
import { verifyChain } from "../journal/index.ts";
import type { SqlStore } from "./sql-store.ts";
import type { Lease } from "./store.ts";
import {
  createQueuedRun,
  modelCallStart,
  runEnd,
  type StoreContractContext,
  sleep,
  stepStart,
  uniqueName,
} from "./store-contract-fixtures.ts";

const TRIALS = 1_000;
/** Trials in flight at once: enough to keep both stores busy, few enough to stay inside the pools. */
const PARALLEL_TRIALS = 25;
/** A lease short enough that the other worker takes it over mid-run in the expiry trials. */
const SHORT_TTL_MS = 15;

type Way = "acquire" | "claim";
type Trial = { index: number; agent: string; runId: string; ttlMs: number; ways: [Way, Way]; ends: boolean };
type WorkerReport = { committed: JournalEvent[]; fenced: number };

/**
 * The proof invariant 3 asks for: two workers on two stores (two pools on PostgreSQL) race for one run's
 * lease and append concurrently, with expiry and takeover in half the trials, and no run ever ends up with a
 * forked history.
 */
export function racesContract(context: StoreContractContext): void {
  describe("races", () => {
    test(`two workers racing for one run's lease never fork its history over ${TRIALS} trials`, async () => {
      const { store, peer } = context;
      let fenced = 0;
      let takenOver = 0;
      let sharedRuns = 0;
      for (let start = 0; start < TRIALS; start += PARALLEL_TRIALS) {
        const indexes = Array.from(
          { length: Math.min(PARALLEL_TRIALS, TRIALS - start) },
          (_, offset) => start + offset,
        );
        const outcomes = await Promise.all(indexes.map(async (index) => await runTrial(store, peer, index)));
        for (const outcome of outcomes) {
          fenced += outcome.fenced;
          if (outcome.tokens > 1) takenOver += 1;
          if (outcome.writers > 1) sharedRuns += 1;
        }
      }
      // The races must really have happened, or the assertions above prove nothing.
      assert.ok(takenOver > 0, "no trial saw a lease taken over");
      assert.ok(fenced > 0, "no stale append was ever rejected");
      assert.ok(sharedRuns > 0, "no run was written by both workers in turn");
    });
  });
}

async function runTrial(
  store: SqlStore,
  peer: SqlStore,
  index: number,
): Promise<{ fenced: number; tokens: number; writers: number }> {
  const agent = uniqueName(`race${index}`);
  const run = await createQueuedRun(store, agent);
  const expiring = index % 2 === 1;
  const waysByVariant: Array<[Way, Way]> = [
    ["acquire", "acquire"],
    ["claim", "claim"],
    ["claim", "acquire"],
    ["acquire", "claim"],
  ];
  const trial: Trial = {
    index,
    agent,
    runId: run.runId,
    ttlMs: expiring ? SHORT_TTL_MS : 30_000,
    ways: waysByVariant[Math.floor(index / 2) % 4]!,
    ends: index % 3 === 0,
  };
  const reports = await Promise.all([
    raceWorker(store, "worker-a", trial, trial.ways[0], expiring),
    raceWorker(peer, "worker-b", trial, trial.ways[1], expiring),
  ]);
  return await checkHistory(store, trial, reports);
}

/** One worker: take the lease (by acquire or claim), append a few steps, and stop once fenced. */
async function raceWorker(
  store: SqlStore,
  owner: string,
  trial: Trial,
  way: Way,
  expiring: boolean,
): Promise<WorkerReport> {
  const report: WorkerReport = { committed: [], fenced: 0 };
  const attempts = expiring ? 3 : 1;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const lease = await takeLease(store, owner, trial, way);
    if (!lease) {
      if (expiring) await sleep(SHORT_TTL_MS + Math.random() * SHORT_TTL_MS);
      continue;
    }
    try {
      for (let step = 1; step <= 3; step += 1) {
        const events = [stepStart(step), modelCallStart(step)];
        report.committed.push(...(await store.append({ lease, events })));
        // Dawdling past the TTL in expiry trials lets the other worker take over mid-run.
        if (expiring) await sleep(Math.random() * SHORT_TTL_MS * 2);
      }
      if (trial.ends) report.committed.push(...(await store.append({ lease, events: [runEnd(owner)] })));
      return report;
    } catch (error) {
      // Fenced by the store (stale_lease), or the other worker already ended the run (conflict).
      if (!isKeelError(error, "stale_lease") && !isKeelError(error, "conflict")) throw error;
      if (isKeelError(error, "stale_lease")) report.fenced += 1;
    }
  }
  return report;
}

async function takeLease(store: SqlStore, owner: string, trial: Trial, way: Way): Promise<Lease | null> {
  if (way === "acquire") return await store.acquireLease({ runId: trial.runId, owner, ttlMs: trial.ttlMs });
  const [lease] = await store.claimRuns({ owner, ttlMs: trial.ttlMs, limit: 1, agents: [trial.agent] });
  return lease ?? null;
}

/** The run's history must be one dense, verifying chain in which every acknowledged event appears exactly once. */
async function checkHistory(
  store: SqlStore,
  trial: Trial,
  reports: WorkerReport[],
): Promise<{ fenced: number; tokens: number; writers: number }> {
  const label = `trial ${trial.index} (${trial.ways.join("/")}, ttl ${trial.ttlMs} ms)`;
  const events = await store.readEvents({ runId: trial.runId });
  assert.deepEqual(
    events.map((event) => event.seq),
    events.map((_, position) => position + 1),
    `${label}: seqs are not dense`,
  );
  const verdict = verifyChain(events);
  assert.equal(verdict.ok, true, `${label}: ${JSON.stringify(verdict)}`);
  const committed = reports.flatMap((report) => report.committed);
  const seqs = committed.map((event) => event.seq);
  assert.equal(new Set(seqs).size, seqs.length, `${label}: one seq was acknowledged to two appends`);
  assert.equal(committed.length, events.length - 1, `${label}: stored events differ from acknowledged ones`);
  for (const event of committed) {
    assert.equal(
      events[event.seq - 1]?.hash,
      event.hash,
      `${label}: seq ${event.seq} differs from what was acknowledged`,
    );
  }
  const { rows } = await store.sql.query<{ lease_token: number | string }>(
    "SELECT lease_token FROM keel_events WHERE run_id = $1 ORDER BY seq",
    [trial.runId],
  );
  const tokens = rows.map((row) => Number(row.lease_token));
  // A fork would show as an older lease writing after a newer one.
  tokens.forEach((token, position) => {
    assert.ok(
      position === 0 || token >= tokens[position - 1]!,
      `${label}: token ${token} wrote after a newer lease`,
    );
  });
  return {
    fenced: reports.reduce((sum, report) => sum + report.fenced, 0),
    tokens: new Set(tokens.slice(1)).size,
    writers: reports.filter((report) => report.committed.length > 0).length,
  };
}
