import type { ArmSample } from "../rollout/index.ts";
import type { SqlClient } from "../store/index.ts";

type SampleRow = {
  arm: "stable" | "candidate";
  status: "completed" | "failed";
  duration_ms: number;
  cost_nano_usd: string | number;
  flagged: boolean;
  decided: string | number;
  rejected: string | number;
  eval_score: number | null;
};

const EMPTY = (): ArmSample => ({
  runs: 0,
  failures: 0,
  latenciesMs: [],
  costsUsd: [],
  evalScores: [],
  guardFlags: 0,
  approvals: { decided: 0, rejected: 0 },
});

/**
 * What each arm of a deployment did since `since` (the current stage's start): its runs that ended completed or
 * failed (cancelled ones say nothing about the version), each with its duration from creation to its last status
 * change, its priced cost from the cost ledger (`keel_model_calls`), whether a guard flagged it, its approval
 * requests decided and rejected, and its production-sampled eval score where one was recorded. Shadow runs are
 * not in either arm: they are judged by the shadow report.
 */
export async function gatherArmSamples(
  sql: SqlClient,
  options: { deploymentId: string; since: Date },
): Promise<{ stable: ArmSample; candidate: ArmSample }> {
  const { rows } = await sql.query<SampleRow>(
    `SELECT r.rollout ->> 'arm' AS arm, r.status,
        extract(epoch FROM (r.updated_at - r.created_at)) * 1000 AS duration_ms,
        coalesce((SELECT sum(c.cost_nano_usd) FROM keel_model_calls c WHERE c.run_id = r.run_id), 0) AS cost_nano_usd,
        EXISTS (SELECT 1 FROM keel_events e WHERE e.run_id = r.run_id AND e.type = 'guard-flag') AS flagged,
        (SELECT count(*) FROM keel_approvals a WHERE a.run_id = r.run_id AND a.status IN ('approved', 'rejected')) AS decided,
        (SELECT count(*) FROM keel_approvals a WHERE a.run_id = r.run_id AND a.status = 'rejected') AS rejected,
        (SELECT avg((v.payload ->> 'score')::float8) FROM keel_evaluation_events v
          WHERE v.run_id = r.run_id AND v.type = 'evaluation') AS eval_score
       FROM keel_runs r
      WHERE r.rollout ->> 'deployment' = $1 AND r.created_at >= $2 AND r.status IN ('completed', 'failed')`,
    [options.deploymentId, options.since],
  );
  const samples = { stable: EMPTY(), candidate: EMPTY() };
  for (const row of rows) {
    const sample = samples[row.arm];
    sample.runs += 1;
    if (row.status === "failed") sample.failures += 1;
    sample.latenciesMs.push(Number(row.duration_ms));
    sample.costsUsd.push(Number(row.cost_nano_usd) / 1e9);
    if (row.eval_score !== null) sample.evalScores.push(Number(row.eval_score));
    if (row.flagged) sample.guardFlags += 1;
    sample.approvals.decided += Number(row.decided);
    sample.approvals.rejected += Number(row.rejected);
  }
  return samples;
}
