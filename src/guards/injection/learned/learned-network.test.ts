import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LEARNED_MODEL } from "./injection-model.ts";
import { decodeNetwork, encodeFloat64s, networkLogit, type SerializedNetwork } from "./learned-network.ts";

const base64 = (values: number[]) => Buffer.from(Int8Array.from(values).buffer).toString("base64");

/** Four buckets, two hidden units. */
const tiny: SerializedNetwork = {
  buckets: 4,
  bias: -1,
  scale: 0.5,
  weights: base64([2, 0, -4, 1]),
  hidden: {
    units: 2,
    scale: 0.25,
    // Bucket by bucket: bucket 0's two units, then bucket 1's, …
    weights: base64([4, -4, 8, 0, 0, 4, -8, 8]),
    bias: encodeFloat64s(Float64Array.from([0.5, -0.5])),
    output: encodeFloat64s(Float64Array.from([2, 3])),
  },
};

describe("the learned network", () => {
  it("adds the linear part and the rectified hidden units to the bias", () => {
    const network = decodeNetwork(tiny);
    const features = { indices: Uint32Array.from([0, 1]), values: Float32Array.from([0.5, 1]) };
    // Linear: 0.5 × (2 × 0.5 + 0 × 1) = 0.5. Unit 0: 0.5 + 0.25 × (4 × 0.5 + 8 × 1) = 3, times 2.
    // Unit 1: -0.5 + 0.25 × (-4 × 0.5 + 0) = -1, rectified to 0.
    assert.equal(networkLogit(network, features), -1 + 0.5 + 6);
    // A unit counts only where it is positive: bucket 3 drives unit 0 below zero and unit 1 above it.
    const other = { indices: Uint32Array.from([3]), values: Float32Array.from([1]) };
    assert.equal(networkLogit(network, other), -1 + 0.5 * 1 + 3 * (-0.5 + 0.25 * 8));
  });

  it("scores the same view the same after another view (its per-unit sums start from zero)", () => {
    const network = decodeNetwork(tiny);
    const features = { indices: Uint32Array.from([2]), values: Float32Array.from([1]) };
    const first = networkLogit(network, features);
    networkLogit(network, { indices: Uint32Array.from([0, 1, 3]), values: Float32Array.from([1, 1, 1]) });
    assert.equal(networkLogit(network, features), first);
  });

  it("refuses a model whose arrays do not fit its sizes, naming what is wrong", () => {
    assert.throws(() => decodeNetwork({ ...tiny, weights: base64([1, 2, 3]) }), /3 weights for 4 buckets/);
    assert.throws(
      () => decodeNetwork({ ...tiny, hidden: { ...tiny.hidden, weights: base64([1, 2]) } }),
      /2 hidden weights for 4 buckets of 2 units/,
    );
    assert.throws(
      () =>
        decodeNetwork({
          ...tiny,
          hidden: { ...tiny.hidden, output: encodeFloat64s(Float64Array.from([1, 2, 3])) },
        }),
      /must have 2 entries/,
    );
  });

  it("decodes the shipped model", () => {
    const network = decodeNetwork(LEARNED_MODEL);
    assert.equal(network.weights.length, LEARNED_MODEL.buckets);
    assert.equal(network.hidden.weights.length, LEARNED_MODEL.buckets * network.hidden.units);
    assert.ok(network.hidden.output.every(Number.isFinite));
  });
});
