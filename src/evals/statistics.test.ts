import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  bootstrapInterval,
  cohensKappa,
  confusionMatrix,
  mcnemarExact,
  wilsonInterval,
} from "./statistics.ts";

describe("statistics", () => {
  test("McNemar's exact test matches the binomial tail on the discordant pairs", () => {
    assert.equal(mcnemarExact(0, 0), 1);
    assert.equal(mcnemarExact(0, 5), 0.0625);
    assert.ok(Math.abs(mcnemarExact(1, 9) - 22 / 1024) < 1e-12);
    assert.equal(mcnemarExact(3, 3), 1);
    // Large counts neither overflow nor underflow.
    assert.ok(mcnemarExact(0, 2_000) < 1e-300 || mcnemarExact(0, 2_000) === 0);
    assert.ok(Math.abs(mcnemarExact(500, 520) - mcnemarExact(520, 500)) < 1e-12);
  });

  test("Cohen's kappa is 0.4 on the textbook 20/5/10/15 table", () => {
    const first = [...Array(25).fill("yes"), ...Array(25).fill("no")];
    const second = [
      ...Array(20).fill("yes"),
      ...Array(5).fill("no"),
      ...Array(10).fill("yes"),
      ...Array(15).fill("no"),
    ];
    assert.ok(Math.abs(cohensKappa(first, second) - 0.4) < 1e-12);
    assert.deepEqual(confusionMatrix(first, second), {
      labels: ["no", "yes"],
      matrix: [
        [15, 10],
        [5, 20],
      ],
    });
    assert.equal(cohensKappa(["a", "a"], ["a", "a"]), 1);
    assert.ok(Number.isNaN(cohensKappa([], [])));
  });

  test("a bootstrap interval is reproducible with a seed and contains the estimate", () => {
    const values = Array.from({ length: 200 }, (_, index) => (index % 4 === 0 ? 0 : 1));
    const mean = (indices: readonly number[]) =>
      indices.reduce((sum, index) => sum + values[index]!, 0) / indices.length;
    const first = bootstrapInterval({ size: values.length, statistic: mean, seed: 3 });
    const second = bootstrapInterval({ size: values.length, statistic: mean, seed: 3 });
    assert.deepEqual(first, second);
    assert.ok(first.low < 0.75 && first.high > 0.75 && first.high - first.low < 0.15);
  });

  test("the Wilson interval of a proportion, also when every trial went the same way", () => {
    const none = wilsonInterval(0, 27);
    assert.equal(none.low, 0);
    assert.ok(Math.abs(none.high - 0.1246) < 0.0005, `0 of 27: ${none.high}`);
    const some = wilsonInterval(11, 17);
    assert.ok(
      Math.abs(some.low - 0.4133) < 0.0005 && Math.abs(some.high - 0.8272) < 0.0005,
      JSON.stringify(some),
    );
    const all = wilsonInterval(31, 31);
    assert.ok(all.high === 1 && Math.abs(all.low - 0.8897) < 0.0005, JSON.stringify(all));
    assert.ok(Number.isNaN(wilsonInterval(0, 0).low));
  });
});
