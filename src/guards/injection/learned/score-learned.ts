import type { InjectionSource } from "../injection-rules.ts";
import type { NormalizedText } from "../normalize-text.ts";
import type { ConceptLexicon } from "./concept-lexicon.ts";
import { hashFeatures } from "./hash-features.ts";
import { LEARNED_MODEL } from "./injection-model.ts";
import { decodeNetwork, type LearnedNetwork, networkLogit } from "./learned-network.ts";
import { learnedViews } from "./learned-views.ts";

/** The model's weights, decoded on first use (a process that only runs the rules never decodes them). */
let network: LearnedNetwork | undefined;

/**
 * The learned model's probability that a normalised text is an injection: a linear part and one hidden layer
 * over hashed words, word pairs, concepts and character n-grams (`networkLogit`), the highest over the text's
 * windows, ROT13 reading, decoded blobs and hidden parts.
 */
export function scoreLearned(normalized: NormalizedText, source: InjectionSource): number {
  network ??= decodeNetwork(LEARNED_MODEL);
  return 1 / (1 + Math.exp(-learnedLogit(normalized, source, network)));
}

/**
 * A network's log-odds for a normalised text, the highest over its views; the trainer scores with it too, with
 * the network and lexicon it is fitting.
 */
export function learnedLogit(
  normalized: NormalizedText,
  source: InjectionSource,
  model: LearnedNetwork,
  lexicon?: ConceptLexicon,
): number {
  let best = Number.NEGATIVE_INFINITY;
  for (const view of learnedViews(normalized, source, lexicon)) {
    const logit = networkLogit(model, hashFeatures(view, model.buckets));
    if (logit > best) best = logit;
  }
  return best;
}
