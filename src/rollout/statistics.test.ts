import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  bootstrapComparison,
  bootstrapInterval,
  bootstrapPValueAbove,
  normalCdf,
  normalQuantile,
  proportionDifferenceInterval,
  quantile,
  twoProportionZTest,
  wilsonInterval,
} from "./statistics.ts";

function near(actual: number, expected: number, tolerance: number): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);
}

describe("rollout statistics", () => {
  test("the normal distribution function matches tabulated values, tails included", () => {
    near(normalCdf(0), 0.5, 1e-7);
    near(normalCdf(1.96), 0.9750021048517795, 1e-7);
    near(normalCdf(-3), 0.0013498980316300957, 1e-9 + 1.2e-7 * 0.0013498980316300957);
    // Far in the tail the relative error stays small instead of the value rounding to 0.
    near(normalCdf(-8) / 6.220960574271819e-16, 1, 1.2e-7);
  });

  test("the normal quantile inverts the distribution function", () => {
    near(normalQuantile(0.975), 1.959963984540054, 1e-8);
    near(normalQuantile(0.95), 1.6448536269514722, 1e-8);
    near(normalQuantile(0.001), -3.090232306167813, 1e-8);
    near(normalQuantile(0.5), 0, 1e-12);
    for (const p of [0.01, 0.2, 0.7, 0.99]) near(normalCdf(normalQuantile(p)), p, 1e-7);
  });

  test("the Wilson interval of 8 of 10 at 95% is 0.490 to 0.943", () => {
    const interval = wilsonInterval(8, 10);
    near(interval.low, 0.49016247153664183, 1e-6);
    near(interval.high, 0.9433178485456247, 1e-6);
    const wider = wilsonInterval(8, 10, 0.99);
    near(wider.low, 0.4008186965216717, 1e-6);
    near(wider.high, 0.9598688474953835, 1e-6);
  });

  test("the Wilson interval does not collapse when every trial went the same way", () => {
    const none = wilsonInterval(0, 27);
    assert.equal(none.low, 0);
    near(none.high, 0.12455502974186705, 1e-6);
    assert.deepEqual(wilsonInterval(0, 0), { low: 0, high: 1 });
  });

  test("the pooled two-proportion z-test matches the hand-computed p-value", () => {
    // 5 of 100 against 15 of 100: pooled rate 0.1, standard error √(0.1·0.9·2/100), z = 2.357.
    const result = twoProportionZTest({ count: 5, total: 100 }, { count: 15, total: 100 });
    near(result.difference, 0.1, 1e-12);
    near(result.z, 2.3570226039551585, 1e-9);
    near(result.pValue, 0.009211062727049524, 1e-8);
    // The other direction is the complement.
    near(
      twoProportionZTest({ count: 15, total: 100 }, { count: 5, total: 100 }).pValue,
      1 - 0.009211062727049524,
      1e-8,
    );
  });

  test("with a margin the z-test is the unpooled Wald test of a rise beyond the margin", () => {
    // 5% against 25% of 100 with a 5-point margin: z = 0.15 / √(0.05·0.95/100 + 0.25·0.75/100) = 3.094.
    const result = twoProportionZTest({ count: 5, total: 100 }, { count: 25, total: 100 }, 0.05);
    near(result.z, 3.0942637387763807, 1e-9);
    near(result.pValue, 0.0009865100437594706, 1e-8);
    // A rise inside the margin is no evidence of a breach.
    assert.ok(twoProportionZTest({ count: 5, total: 100 }, { count: 8, total: 100 }, 0.05).pValue > 0.5);
  });

  test("a z-test between two arms that each went one way is exact", () => {
    assert.equal(twoProportionZTest({ count: 0, total: 50 }, { count: 50, total: 50 }, 0.05).pValue, 0);
    assert.equal(twoProportionZTest({ count: 0, total: 50 }, { count: 0, total: 50 }, 0.05).pValue, 1);
    assert.equal(twoProportionZTest({ count: 0, total: 0 }, { count: 1, total: 5 }).pValue, 1);
  });

  test("the interval of a difference of proportions covers the difference and narrows with more trials", () => {
    const small = proportionDifferenceInterval({ count: 5, total: 100 }, { count: 15, total: 100 });
    assert.ok(small.low < 0.1 && small.high > 0.1 && small.low > 0);
    const large = proportionDifferenceInterval({ count: 50, total: 1000 }, { count: 150, total: 1000 });
    assert.ok(large.high - large.low < small.high - small.low);
  });

  test("quantiles interpolate between order statistics", () => {
    const values = [3, 1, 2, 10, 4, 5, 6, 7, 8, 9];
    near(quantile(values, 0.95), 9.55, 1e-12);
    assert.equal(quantile(values, 0.5), 5.5);
    assert.ok(Number.isNaN(quantile([], 0.5)));
  });

  test("the two-sample bootstrap is seeded and finds a doubled p95", () => {
    const stable = Array.from({ length: 200 }, (_, i) => 100 + (i % 50));
    const candidate = stable.map((value) => value * 2);
    const options = {
      first: stable,
      second: candidate,
      statistic: { kind: "quantile", q: 0.95 },
      comparison: "ratio",
    } as const;
    const first = bootstrapComparison({ ...options, seed: 7 });
    const again = bootstrapComparison({ ...options, seed: 7 });
    assert.deepEqual(first.draws, again.draws);
    near(first.estimate, 2, 1e-12);
    const interval = bootstrapInterval(first.draws);
    assert.ok(interval.low > 1.8 && interval.high < 2.2);
    assert.ok(bootstrapPValueAbove(first.draws, 1.25) < 0.01);
    assert.ok(bootstrapPValueAbove(first.draws, 3) > 0.99);
  });
});
