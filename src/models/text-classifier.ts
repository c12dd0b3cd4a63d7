/** A labelled example from the agent spec. */
export type LabelledExample = { text: string; label: string };

/** A trained classifier: the most likely label for a text and how sure it is (0–1). */
export type TextClassifier = {
  readonly labels: readonly string[];
  classify(text: string): { label: string; confidence: number };
};

/**
 * A multinomial naive Bayes classifier over word unigrams and bigrams, trained in-process from the spec's
 * examples: no model download, deterministic, microseconds per call. Good enough to send obvious traffic
 * (greetings, order lookups) to a small model; anything it is unsure of falls through to the default route.
 */
export function trainTextClassifier(examples: readonly LabelledExample[]): TextClassifier {
  const labels = [...new Set(examples.map((example) => example.label))].sort();
  if (labels.length === 0) throw new Error("a classifier needs at least one labelled example");
  const counts = new Map(labels.map((label) => [label, new Map<string, number>()]));
  const totals = new Map(labels.map((label) => [label, 0]));
  const docs = new Map(labels.map((label) => [label, 0]));
  const vocabulary = new Set<string>();
  for (const example of examples) {
    docs.set(example.label, (docs.get(example.label) ?? 0) + 1);
    const table = counts.get(example.label)!;
    for (const feature of features(example.text)) {
      vocabulary.add(feature);
      table.set(feature, (table.get(feature) ?? 0) + 1);
      totals.set(example.label, (totals.get(example.label) ?? 0) + 1);
    }
  }
  const size = vocabulary.size + 1;
  return {
    labels,
    classify(text) {
      // Words never seen in training say nothing about any label; counting them would favour small labels.
      const found = features(text).filter((feature) => vocabulary.has(feature));
      const scores = labels.map((label) => {
        const table = counts.get(label)!;
        const total = totals.get(label)!;
        let score = Math.log(docs.get(label)! / examples.length);
        for (const feature of found) score += Math.log(((table.get(feature) ?? 0) + 1) / (total + size));
        return score;
      });
      const best = Math.max(...scores);
      const weights = scores.map((score) => Math.exp(score - best));
      const sum = weights.reduce((a, b) => a + b, 0);
      const index = scores.indexOf(best);
      return { label: labels[index]!, confidence: weights[index]! / sum };
    },
  };
}

function features(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const bigrams = words.slice(1).map((word, index) => `${words[index]} ${word}`);
  return [...words, ...bigrams];
}
