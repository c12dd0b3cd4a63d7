import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compareArms, type MetricComparison } from "./compare-arms.ts";
import type { ArmSample } from "./judge-stage.ts";

/** An arm whose per-run values cycle evenly through a range, so each statistic is known. */
function arm(options: {
  runs: number;
  failures: number;
  latencyMs: number;
  costUsd: number;
  score: number;
  guardFlags?: number;
  approvals?: { decided: number; rejected: number };
}): ArmSample {
  const spread = (centre: number, i: number) => centre * (0.8 + 0.4 * ((i % 10) / 9));
  return {
    runs: options.runs,
    failures: options.failures,
    latenciesMs: Array.from({ length: options.runs }, (_, i) => spread(options.latencyMs, i)),
    costsUsd: Array.from({ length: options.runs }, (_, i) => spread(options.costUsd, i)),
    evalScores: Array.from({ length: options.runs }, (_, i) => Math.min(1, spread(options.score, i))),
    guardFlags: options.guardFlags ?? 0,
    approvals: options.approvals ?? { decided: 0, rejected: 0 },
  };
}

function metric(metrics: MetricComparison[], name: MetricComparison["metric"]): MetricComparison {
  const found = metrics.find((comparison) => comparison.metric === name);
  assert.ok(found, name);
  return found;
}

describe("compareArms", () => {
  test("a success rate of 97% against 95% over 1,000 runs each is significantly better, with the hand-computed p-value", () => {
    const stable = arm({ runs: 1_000, failures: 50, latencyMs: 1_000, costUsd: 0.01, score: 0.8 });
    const candidate = arm({ runs: 1_000, failures: 30, latencyMs: 1_000, costUsd: 0.01, score: 0.8 });
    const success = metric(compareArms(stable, candidate).metrics, "successRate");
    assert.equal(success.test, "two-sided two-proportion z-test");
    assert.ok(Math.abs(success.pValue! - 0.022478873366125213) < 1e-7);
    assert.ok(Math.abs(success.difference! - 0.02) < 1e-12);
    assert.ok(Math.abs(success.interval!.low - 0.0026354762149626773) < 1e-9);
    assert.ok(Math.abs(success.interval!.high - 0.03728468346567599) < 1e-9);
    assert.equal(success.verdict, "candidate better");
    assert.equal(
      success.conclusion,
      "Candidate better on success rate: 97.0% against 95.0% (+2 points, 95% interval +0.3 points to +3.7 points, p = 0.022).",
    );
  });

  test("identical arms show no significant difference on any metric", () => {
    const options = {
      runs: 300,
      failures: 15,
      latencyMs: 1_000,
      costUsd: 0.01,
      score: 0.8,
      guardFlags: 3,
      approvals: { decided: 40, rejected: 4 },
    };
    const comparison = compareArms(arm(options), arm(options));
    assert.equal(comparison.confidence, 0.95);
    for (const result of comparison.metrics) {
      assert.equal(result.verdict, "no significant difference", result.metric);
      assert.equal(result.difference, 0);
      assert.ok(result.interval!.low <= 0 && result.interval!.high >= 0, result.metric);
    }
  });

  test("lower is better for latency and cost, higher for eval scores", () => {
    const stable = arm({ runs: 200, failures: 10, latencyMs: 1_000, costUsd: 0.01, score: 0.8 });
    const candidate = arm({ runs: 200, failures: 10, latencyMs: 1_500, costUsd: 0.005, score: 0.6 });
    const { metrics } = compareArms(stable, candidate, 0.99, 7);
    const latency = metric(metrics, "p95LatencyMs");
    assert.equal(latency.verdict, "candidate worse");
    assert.equal(latency.test, "two-sided bootstrap of the p95 difference");
    assert.ok(latency.difference! > 400 && latency.interval!.low > 0);
    assert.equal(metric(metrics, "costPerRun").verdict, "candidate better");
    assert.equal(metric(metrics, "evalScore").verdict, "candidate worse");
    assert.match(
      metric(metrics, "evalScore").conclusion,
      /^Candidate worse on mean eval score: 0\.600 against 0\.800 \(-0\.200, 99% interval/,
    );
  });

  test("too few observations are reported as not enough data, not as no difference", () => {
    const stable = arm({ runs: 200, failures: 10, latencyMs: 1_000, costUsd: 0.01, score: 0.8 });
    const candidate = {
      ...arm({ runs: 5, failures: 4, latencyMs: 1_000, costUsd: 0.01, score: 0.8 }),
      evalScores: [],
    };
    const { metrics } = compareArms(stable, candidate);
    const success = metric(metrics, "successRate");
    assert.equal(success.verdict, "not enough data");
    assert.equal(success.pValue, null);
    assert.equal(success.candidate, 0.2);
    assert.equal(metric(metrics, "evalScore").candidate, null);
    assert.equal(metric(metrics, "approvalRejectionRate").stable, null);
  });

  test("the same arms and seed give the same comparison", () => {
    const stable = arm({ runs: 120, failures: 6, latencyMs: 1_000, costUsd: 0.01, score: 0.8 });
    const candidate = arm({ runs: 80, failures: 5, latencyMs: 1_050, costUsd: 0.011, score: 0.79 });
    assert.deepEqual(compareArms(stable, candidate, 0.95, 3), compareArms(stable, candidate, 0.95, 3));
  });
});
