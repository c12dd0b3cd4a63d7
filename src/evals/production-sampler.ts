import { createHash } from "node:crypto";
import type { RunStatus } from "../journal/index.ts";
import type { Store } from "../store/index.ts";
import { outcomeFromEvents } from "./case-outcome.ts";
import { EvalCase } from "./eval-case.ts";
import type { EvaluationLog } from "./evaluation-log.ts";
import type { Grader } from "./grader.ts";

/** Whether a run falls in the sample: a hash of its id, so every process agrees and a rerun picks the same runs. */
export function isSampled(runId: string, rate: number): boolean {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  const value = Number.parseInt(createHash("sha256").update(runId).digest("hex").slice(0, 8), 16);
  return value / 0x1_0000_0000 < rate;
}

/** What the sampler grades an agent version's runs with, and how many of them. */
export type SamplingPlan = { rate: number; graders: readonly Grader[] };

/** The sampler's controls: grade now, or poll in the background until stopped. */
export type ProductionSampler = {
  /** Grade the runs that finished since the last tick; returns how many were graded. */
  tick(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
};

/**
 * Production sampling: a share of live runs is graded after they end, off the request path, and each score is
 * recorded as an `evaluation` event; the score series over time is what drift alarms read. Only graders that
 * need no reference answer make sense here (governance, bounds, judges, custom).
 */
export function createProductionSampler(options: {
  store: Store;
  log: EvaluationLog;
  plan: (agent: string, version: string) => SamplingPlan | null;
  /** Only runs that end after this time are considered (default: when the sampler was created). */
  since?: Date;
  pollMs?: number;
  onError?: (error: unknown) => void;
}): ProductionSampler {
  const { store, log } = options;
  let cursor = { at: (options.since ?? new Date()).toISOString(), runId: "" };
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> = Promise.resolve();

  async function tick(): Promise<number> {
    const { rows } = await store.sql.query<{
      run_id: string;
      agent: string;
      agent_version: string;
      status: RunStatus;
      updated_at: Date | string;
    }>(
      `SELECT run_id, agent, agent_version, status, updated_at FROM keel_runs
        WHERE status IN ('completed', 'failed', 'cancelled', 'budget_exceeded')
          AND (updated_at, run_id) > ($1::timestamptz, $2)
        ORDER BY updated_at, run_id LIMIT 200`,
      [cursor.at, cursor.runId],
    );
    let graded = 0;
    for (const row of rows) {
      cursor = { at: new Date(row.updated_at).toISOString(), runId: row.run_id };
      const plan = options.plan(row.agent, row.agent_version);
      if (!plan || plan.graders.length === 0 || !isSampled(row.run_id, plan.rate)) continue;
      const existing = await log.forRun(row.run_id);
      if (existing.some((event) => event.type === "evaluation")) continue;
      const events = await store.readEvents({ runId: row.run_id });
      const outcome = outcomeFromEvents(events);
      const first = events[0];
      const evalCase = EvalCase.parse({
        id: "production",
        input: first?.type === "run-start" ? first.payload.input : "(unknown)",
      });
      const signal = AbortSignal.timeout(60_000);
      const grades = [];
      for (const grader of plan.graders) {
        try {
          grades.push(await grader.grade({ case: evalCase, outcome, signal }));
        } catch (error) {
          grades.push({
            grader: grader.name,
            kind: grader.kind,
            passed: false,
            score: 0,
            reason: `the grader failed: ${String(error)}`,
          });
        }
      }
      const counted = grades.filter((grade) => !grade.advisory);
      const scored = counted.length > 0 ? counted : grades;
      await log.record({
        type: "evaluation",
        runId: row.run_id,
        agent: row.agent,
        version: row.agent_version,
        payload: {
          source: "production-sample",
          score: scored.reduce((sum, grade) => sum + grade.score, 0) / scored.length,
          passed: scored.every((grade) => grade.passed),
          grades,
          sampleRate: plan.rate,
        },
      });
      graded += 1;
    }
    return graded;
  }

  return {
    tick,
    start() {
      if (timer) return;
      timer = setInterval(() => {
        running = running.then(tick).catch((error: unknown) => options.onError?.(error));
      }, options.pollMs ?? 5_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}
