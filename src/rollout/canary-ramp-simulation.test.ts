import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ArmSample, type CanaryGates, judgeStage } from "./judge-stage.ts";
import { quantile, seededRandom } from "./statistics.ts";

/**
 * A pure, seeded simulation of a canary ramp: runs arrive one a second, each goes to the candidate with the stage's
 * share, fails with its arm's rate, and the stage is judged after every candidate run (as the controller does).
 * Only the success-rate gate is on, since the arms differ only in how often they fail.
 */
const RAMP = [0.05, 0.25, 0.5] as const;
const GATES: CanaryGates = { successRate: { maxDrop: 0.05 }, confidence: 0.95 };
const MIN_RUNS = 50;
const MIN_DURATION_MS = 300_000;

type Outcome = { action: "rollback" | "promoted"; stage: number; candidateRuns: number };

function emptyArm(): ArmSample {
  return {
    runs: 0,
    failures: 0,
    latenciesMs: [],
    costsUsd: [],
    evalScores: [],
    guardFlags: 0,
    approvals: { decided: 0, rejected: 0 },
  };
}

function simulateRollout(stableFailureRate: number, candidateFailureRate: number, seed: number): Outcome {
  const random = seededRandom(seed);
  let candidateRuns = 0;
  for (const [stage, share] of RAMP.entries()) {
    const stable = emptyArm();
    const candidate = emptyArm();
    for (let second = 1; ; second++) {
      if (random() >= share) {
        stable.runs++;
        if (random() < stableFailureRate) stable.failures++;
        continue;
      }
      candidate.runs++;
      candidateRuns++;
      if (random() < candidateFailureRate) candidate.failures++;
      const verdict = judgeStage({
        stable,
        candidate,
        gates: GATES,
        minRuns: MIN_RUNS,
        elapsedMs: second * 1_000,
        minDurationMs: MIN_DURATION_MS,
        seed,
      });
      if (verdict.action === "rollback") return { action: "rollback", stage, candidateRuns };
      if (verdict.action === "advance") break;
    }
  }
  return { action: "promoted", stage: RAMP.length, candidateRuns };
}

function simulate(stableFailureRate: number, candidateFailureRate: number, rollouts: number) {
  const outcomes = Array.from({ length: rollouts }, (_, i) =>
    simulateRollout(stableFailureRate, candidateFailureRate, i + 1),
  );
  const rolledBack = outcomes.filter((outcome) => outcome.action === "rollback");
  const runsToRollback = rolledBack.map((outcome) => outcome.candidateRuns);
  const runsToPromotion = outcomes
    .filter((outcome) => outcome.action === "promoted")
    .map((outcome) => outcome.candidateRuns);
  return {
    rollbackRate: rolledBack.length / rollouts,
    runsToPromotionMedian: quantile(runsToPromotion, 0.5),
    firstStageRollbacks: rolledBack.filter((outcome) => outcome.stage === 0).length,
    runsToRollback: {
      median: quantile(runsToRollback, 0.5),
      p95: quantile(runsToRollback, 0.95),
      max: Math.max(...runsToRollback),
    },
  };
}

describe("a simulated 5% → 25% → 50% → 100% canary ramp", () => {
  test("rolls back a candidate failing 20 points more often at the first stage, within a bounded number of runs", (t) => {
    const result = simulate(0.05, 0.25, 1_000);
    t.diagnostic(`5% vs 25% failures: ${JSON.stringify(result)}`);
    assert.equal(result.rollbackRate, 1);
    assert.equal(result.firstStageRollbacks, 1_000);
    assert.ok(result.runsToRollback.median <= 25, `median ${result.runsToRollback.median}`);
    assert.ok(result.runsToRollback.p95 <= 90, `p95 ${result.runsToRollback.p95}`);
    assert.ok(result.runsToRollback.max <= 160, `max ${result.runsToRollback.max}`);
  });

  test("rarely rolls back a candidate that fails as often as stable", (t) => {
    const result = simulate(0.05, 0.05, 1_000);
    t.diagnostic(`5% vs 5% failures: ${JSON.stringify(result)}`);
    assert.ok(result.rollbackRate <= 0.04, `false rollback rate ${result.rollbackRate}`);
  });

  test("promotes a better candidate to 100%", (t) => {
    const result = simulate(0.05, 0.02, 1_000);
    t.diagnostic(`5% vs 2% failures: ${JSON.stringify(result)}`);
    assert.ok(result.rollbackRate <= 0.01, `rollback rate ${result.rollbackRate}`);
  });
});
