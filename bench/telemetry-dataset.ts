import { randomBytes } from "node:crypto";
import type { SqlStore } from "../src/store/sql-store.ts";
import { type SyntheticCall, type SyntheticRun, syntheticEvents } from "../test/support/synthetic-journal.ts";

const AGENTS = ["support-triage", "billing", "onboarding", "returns"];
const TOOLS = ["lookup", "issue_refund", "send_email", "search_kb", "update_ticket"];

/** A deterministic mix of runs: 1–4 turns, 1–2 calls a turn, some denied, failed, held and retried. */
export function datasetRun(index: number): SyntheticRun {
  const random = mulberry32(index + 1);
  const agent = AGENTS[index % AGENTS.length]!;
  const turnCount = 1 + Math.floor(random() * 3);
  const turns: SyntheticCall[][] = [];
  for (let turn = 0; turn < turnCount; turn += 1) {
    const calls: SyntheticCall[] = [];
    const callCount = random() < 0.3 ? 2 : 1;
    for (let call = 0; call < callCount; call += 1) {
      const roll = random();
      calls.push({
        tool: TOOLS[Math.floor(random() * TOOLS.length)]!,
        outcome: roll < 0.05 ? "denied" : roll < 0.1 ? "failed" : roll < 0.12 ? "review" : "ok",
      });
    }
    turns.push(calls);
  }
  // Every 50th run of support-triage is the shape the issue asks about.
  if (agent === "support-triage" && index % 50 === 0) {
    turns.splice(
      0,
      turns.length,
      [{ tool: "issue_refund", outcome: "denied" }],
      [{ tool: "issue_refund", outcome: "review" }],
      [{ tool: "issue_refund", outcome: "failed" }],
      [{ tool: "issue_refund", outcome: "ok" }],
    );
  }
  const status = random() < 0.06 ? "failed" : "completed";
  return {
    agent,
    version: random() < 0.5 ? "1.0.0" : "1.1.0",
    turns,
    status,
    costPerCall: Number((0.002 + random() * 0.02).toFixed(6)),
    inputTokens: 500 + Math.floor(random() * 3_000),
  };
}

/** Events one run appends after its run-start (plus one for run-start itself). */
export function eventsOf(run: SyntheticRun): number {
  return syntheticEvents(run).length + 1;
}

/**
 * Journal one dataset run through the store as a worker would: created, leased, its events appended in one group
 * commit, released.
 */
export async function journalDatasetRun(
  store: SqlStore,
  runId: string,
  run: SyntheticRun,
  events: ReturnType<typeof syntheticEvents> = syntheticEvents(run),
): Promise<void> {
  const now = new Date();
  await store.createRun({
    runId,
    start: {
      agent: run.agent,
      agentVersion: run.version ?? "1.0.0",
      specHash: "sha256:bench",
      input: "benchmark input",
      principal: { subject: "bench", tenant: "default", roles: [] },
      startedAt: now.toISOString(),
      deadlineAt: new Date(now.getTime() + 600_000).toISOString(),
      maxSteps: 20,
    },
  });
  const lease = await store.acquireLease({ runId, owner: "bench", ttlMs: 60_000 });
  if (!lease) throw new Error(`could not lease ${runId}`);
  await store.append({ lease, events });
  await store.releaseLease(lease);
}

/**
 * Journal runs through the store until `targetEvents` events are written: each run is created, leased,
 * appended (one group commit with its events) and released, `concurrency` runs at a time.
 */
export async function fillJournal(
  store: SqlStore,
  options: { targetEvents: number; concurrency: number; onProgress?: (events: number) => void },
): Promise<{ runs: number; events: number; seconds: number }> {
  const started = performance.now();
  const prefix = randomBytes(4).toString("hex");
  let events = 0;
  let next = 0;
  let lastReport = 0;
  const worker = async () => {
    while (events < options.targetEvents) {
      const index = next;
      next += 1;
      const run = datasetRun(index);
      const appended = syntheticEvents(run);
      events += appended.length + 1;
      await journalDatasetRun(
        store,
        `run_bench_${prefix}_${index.toString(36).padStart(6, "0")}`,
        run,
        appended,
      );
      if (events - lastReport >= 100_000) {
        lastReport = events;
        options.onProgress?.(events);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { runs: next, events, seconds: (performance.now() - started) / 1000 };
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}
