import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isKeelError } from "../errors/index.ts";
import { type ArmSample, type CanaryGates, judgeStage } from "./judge-stage.ts";
import { seededRandom } from "./statistics.ts";

const ALL_GATES: CanaryGates = {
  successRate: { maxDrop: 0.05 },
  p95LatencyMs: { maxRatio: 1.25 },
  costPerRun: { maxRatio: 1.2 },
  evalScore: { maxDrop: 0.05 },
  guardFlagRate: { maxRise: 0.05 },
  approvalRejectionRate: { maxRise: 0.1 },
};

/** An arm of `runs` runs drawn from a seeded generator: latencies around `latencyMs`, costs around `costUsd`. */
function arm(options: {
  runs: number;
  failureRate: number;
  latencyMs?: number;
  costUsd?: number;
  score?: number;
  seed: number;
}): ArmSample {
  const random = seededRandom(options.seed);
  const latency = options.latencyMs ?? 1_000;
  const cost = options.costUsd ?? 0.01;
  const score = options.score ?? 0.9;
  let failures = 0;
  const latenciesMs: number[] = [];
  const costsUsd: number[] = [];
  const evalScores: number[] = [];
  for (let i = 0; i < options.runs; i++) {
    if (random() < options.failureRate) failures++;
    latenciesMs.push(latency * (0.5 + random()));
    costsUsd.push(cost * (0.5 + random()));
    evalScores.push(Math.min(1, Math.max(0, score + (random() - 0.5) * 0.2)));
  }
  return {
    runs: options.runs,
    failures,
    latenciesMs,
    costsUsd,
    evalScores,
    guardFlags: 0,
    approvals: { decided: Math.floor(options.runs / 4), rejected: Math.floor(options.runs / 40) },
  };
}

const stage = { minRuns: 100, elapsedMs: 3_600_000, minDurationMs: 1_800_000 };

describe("judgeStage", () => {
  test("a clear regression rolls back before the stage has its minimum runs", () => {
    const stable: ArmSample = { ...arm({ runs: 1_000, failureRate: 0, seed: 1 }), failures: 50 };
    const candidate: ArmSample = { ...arm({ runs: 30, failureRate: 0, seed: 2 }), failures: 15 };
    const verdict = judgeStage({ stable, candidate, gates: ALL_GATES, ...stage });
    assert.equal(verdict.action, "rollback");
    const success = verdict.gates.find((gate) => gate.gate === "successRate");
    assert.ok(success?.breached && success.decided);
    assert.equal(success.stable, 0.95);
    assert.equal(success.candidate, 0.5);
    assert.equal(success.test, "one-sided two-proportion z-test");
    assert.ok(success.pValue !== null && success.pValue < 0.001);
    assert.match(
      verdict.reason,
      /^Roll back: the candidate's success rate \(50\.0%\) is worse than stable's \(95\.0%\)/,
    );
  });

  test("equal arms advance once the stage has its minimum runs and duration", () => {
    const stable: ArmSample = { ...arm({ runs: 1_900, failureRate: 0.05, seed: 3 }), failures: 95 };
    const candidate: ArmSample = { ...arm({ runs: 100, failureRate: 0.05, seed: 4 }), failures: 5 };
    const verdict = judgeStage({ stable, candidate, gates: ALL_GATES, ...stage });
    assert.equal(verdict.action, "advance", verdict.reason);
    assert.deepEqual(
      verdict.gates.map((gate) => gate.gate),
      ["successRate", "p95LatencyMs", "costPerRun", "evalScore", "guardFlagRate", "approvalRejectionRate"],
    );
    assert.ok(verdict.gates.every((gate) => !gate.breached));
    assert.match(verdict.reason, /^Advance: 100 candidate runs over 60 min/);
  });

  test("too little evidence waits: too few runs, too little time, or too few observations to test", () => {
    const stable = arm({ runs: 1_900, failureRate: 0.05, seed: 5 });
    const fewRuns = judgeStage({
      stable,
      candidate: arm({ runs: 40, failureRate: 0.05, seed: 6 }),
      gates: ALL_GATES,
      ...stage,
    });
    assert.equal(fewRuns.action, "wait");
    assert.equal(fewRuns.reason, "Wait: the stage has 40 of 100 candidate runs; no gate is breached.");

    const candidate = arm({ runs: 100, failureRate: 0.05, seed: 7 });
    const early = judgeStage({ stable, candidate, gates: ALL_GATES, ...stage, elapsedMs: 600_000 });
    assert.equal(early.action, "wait");
    assert.equal(early.reason, "Wait: the stage has 10 min of 30 min; no gate is breached.");

    // Five failures in five runs is striking, but five runs are too few to test: the gate is undecided.
    const tiny: ArmSample = { ...arm({ runs: 5, failureRate: 0, seed: 8 }), failures: 5 };
    const undecided = judgeStage({ stable, candidate: tiny, gates: ALL_GATES, ...stage });
    assert.equal(undecided.action, "wait");
    assert.ok(undecided.gates.every((gate) => !gate.decided && gate.pValue === null));
  });

  test("a candidate worse than stable, but not yet significantly beyond the limit, waits past its minimum runs", () => {
    const stable: ArmSample = { ...arm({ runs: 1_900, failureRate: 0, seed: 18 }), failures: 95 };
    const candidate: ArmSample = { ...arm({ runs: 100, failureRate: 0, seed: 19 }), failures: 10 };
    const verdict = judgeStage({ stable, candidate, gates: { successRate: { maxDrop: 0.05 } }, ...stage });
    assert.equal(verdict.action, "wait");
    assert.equal(
      verdict.reason,
      "Wait: the evidence does not yet show the candidate's success rate within the gate's limit, nor beyond it.",
    );
    assert.deepEqual(
      verdict.gates.map(({ breached, decided }) => ({ breached, decided })),
      [{ breached: false, decided: false }],
    );
  });

  test("a slower, costlier or worse-scoring candidate is rolled back by its own gate", () => {
    const stable = arm({ runs: 400, failureRate: 0.05, seed: 9 });
    const cases: [string, ArmSample][] = [
      ["p95LatencyMs", arm({ runs: 60, failureRate: 0.05, latencyMs: 2_000, seed: 10 })],
      ["costPerRun", arm({ runs: 60, failureRate: 0.05, costUsd: 0.02, seed: 11 })],
      ["evalScore", arm({ runs: 60, failureRate: 0.05, score: 0.7, seed: 12 })],
    ];
    for (const [gate, candidate] of cases) {
      const verdict = judgeStage({ stable, candidate, gates: ALL_GATES, ...stage });
      assert.equal(verdict.action, "rollback", gate);
      assert.deepEqual(
        verdict.gates.filter((result) => result.breached).map((result) => result.gate),
        [gate],
      );
    }
  });

  test("the same input and seed give the same verdict, bootstraps included", () => {
    const input = {
      stable: arm({ runs: 300, failureRate: 0.05, seed: 13 }),
      candidate: arm({ runs: 50, failureRate: 0.06, latencyMs: 1_150, seed: 14 }),
      gates: ALL_GATES,
      ...stage,
      seed: 42,
    };
    assert.deepEqual(judgeStage(input), judgeStage(structuredClone(input)));
    const latency = judgeStage(input).gates.find((gate) => gate.gate === "p95LatencyMs");
    assert.equal(latency?.test, "one-sided bootstrap of the p95 ratio");
  });

  test("an absent gate is not checked, and no gates advance on runs and time alone", () => {
    const stable = arm({ runs: 100, failureRate: 0.05, seed: 15 });
    const candidate: ArmSample = { ...arm({ runs: 100, failureRate: 0, seed: 16 }), failures: 90 };
    const verdict = judgeStage({ stable, candidate, gates: {}, ...stage });
    assert.equal(verdict.action, "advance");
    assert.deepEqual(verdict.gates, []);
  });

  test("a confidence outside (0.5, 1) is refused, naming the field", () => {
    const sample = arm({ runs: 10, failureRate: 0, seed: 17 });
    assert.throws(
      () => judgeStage({ stable: sample, candidate: sample, gates: { confidence: 1 }, ...stage }),
      (error) => isKeelError(error, "invalid_spec") && error.issues[0]?.path === "gates.confidence",
    );
  });
});
