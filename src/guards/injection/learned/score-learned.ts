import type { InjectionSource } from "../injection-rules.ts";
import type { NormalizedText } from "../normalize-text.ts";
import { hashFeatures } from "./hash-features.ts";
import { LEARNED_MODEL } from "./injection-model.ts";
import { learnedViews } from "./learned-views.ts";

/** The model's weights, int8 with one scale, decoded once when the module loads. */
const WEIGHTS = new Int8Array(Buffer.from(LEARNED_MODEL.weights, "base64"));
if (WEIGHTS.length !== LEARNED_MODEL.buckets) {
  throw new Error(`injection model: ${WEIGHTS.length} weights for ${LEARNED_MODEL.buckets} buckets`);
}

/**
 * The learned model's probability that a normalised text is an injection: logistic regression over hashed
 * words, word pairs and character n-grams, the highest over the text's windows, ROT13 reading, decoded blobs and
 * hidden parts.
 */
export function scoreLearned(normalized: NormalizedText, source: InjectionSource): number {
  let best = Number.NEGATIVE_INFINITY;
  for (const view of learnedViews(normalized, source)) {
    const { indices, values } = hashFeatures(view, LEARNED_MODEL.buckets);
    let sum = 0;
    for (let index = 0; index < indices.length; index++) sum += WEIGHTS[indices[index]!]! * values[index]!;
    const logit = LEARNED_MODEL.bias + LEARNED_MODEL.scale * sum;
    if (logit > best) best = logit;
  }
  return 1 / (1 + Math.exp(-best));
}
