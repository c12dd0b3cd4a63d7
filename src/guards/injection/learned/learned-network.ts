import type { HashedFeatures } from "./hash-features.ts";

/**
 * The learned model's weights as the scorer reads them: a linear part over the hashed features (one weight per
 * bucket) and one hidden layer of rectified units over the same features, whose outputs add to the log-odds. The
 * linear part carries single words and n-grams; the hidden units carry combinations (a request for an action
 * and "skip the review", "all patients" and a send), which a sum of single weights cannot.
 *
 * Weights are int8 with one scale per layer. The hidden layer's are stored bucket by bucket (`units` weights per
 * bucket, in unit order), so a feature's weights are read together.
 */
export type LearnedNetwork = {
  buckets: number;
  bias: number;
  scale: number;
  weights: Int8Array;
  hidden: {
    units: number;
    scale: number;
    weights: Int8Array;
    bias: Float64Array;
    output: Float64Array;
  };
};

/** The model as the generated file writes it: int8 weights in base64. */
export type SerializedNetwork = {
  buckets: number;
  bias: number;
  scale: number;
  weights: string;
  /** `bias` and `output` are float64 arrays in base64, like the weights, so a retrained file is byte-identical. */
  hidden: { units: number; scale: number; weights: string; bias: string; output: string };
};

/** Decode a generated model file's network, checking that its arrays fit its sizes. */
export function decodeNetwork(serialized: SerializedNetwork): LearnedNetwork {
  const weights = new Int8Array(Buffer.from(serialized.weights, "base64"));
  const hiddenWeights = new Int8Array(Buffer.from(serialized.hidden.weights, "base64"));
  const { units } = serialized.hidden;
  const hiddenBias = float64s(serialized.hidden.bias);
  const output = float64s(serialized.hidden.output);
  if (weights.length !== serialized.buckets)
    throw new Error(`injection model: ${weights.length} weights for ${serialized.buckets} buckets`);
  if (hiddenWeights.length !== serialized.buckets * units)
    throw new Error(
      `injection model: ${hiddenWeights.length} hidden weights for ${serialized.buckets} buckets of ${units} units`,
    );
  if (hiddenBias.length !== units || output.length !== units)
    throw new Error(`injection model: hidden biases and outputs must have ${units} entries`);
  return {
    buckets: serialized.buckets,
    bias: serialized.bias,
    scale: serialized.scale,
    weights,
    hidden: {
      units,
      scale: serialized.hidden.scale,
      weights: hiddenWeights,
      bias: hiddenBias,
      output,
    },
  };
}

/** A float64 array written in base64 (`encodeFloat64s`), copied so it is aligned. */
function float64s(base64: string): Float64Array {
  const bytes = Uint8Array.from(Buffer.from(base64, "base64"));
  if (bytes.length % 8 !== 0)
    throw new Error("injection model: a float64 array's length is not a multiple of 8");
  return new Float64Array(bytes.buffer);
}

/** A float64 array in base64, as the generated model file carries it. */
export function encodeFloat64s(values: Float64Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString("base64");
}

/** The network's log-odds that one view is an injection. */
export function networkLogit(network: LearnedNetwork, features: HashedFeatures): number {
  const { indices, values } = features;
  const { units } = network.hidden;
  if (sums.length < units) sums = new Float64Array(units);
  sums.fill(0, 0, units);
  let linear = 0;
  const hiddenWeights = network.hidden.weights;
  for (let index = 0; index < indices.length; index++) {
    const bucket = indices[index]!;
    const value = values[index]!;
    linear += network.weights[bucket]! * value;
    const base = bucket * units;
    for (let unit = 0; unit < units; unit++) sums[unit]! += hiddenWeights[base + unit]! * value;
  }
  let logit = network.bias + network.scale * linear;
  for (let unit = 0; unit < units; unit++) {
    const activation = network.hidden.bias[unit]! + network.hidden.scale * sums[unit]!;
    if (activation > 0) logit += network.hidden.output[unit]! * activation;
  }
  return logit;
}

/** Per-unit sums while one view is scored, reused across calls. */
let sums = new Float64Array(0);
