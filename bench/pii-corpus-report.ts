/**
 * `node bench/pii-corpus-report.ts`: recall and false-positive rate of the PII and secret detectors per entity
 * type on the labelled corpus (test/fixtures/pii-corpus.jsonl), with Wilson 95% intervals, as the Markdown table
 * docs/security.md shows.
 */
import { ENTITY_CLASSES } from "../src/guards/index.ts";
import { readPiiCorpus, scorePiiCorpus, wilsonInterval } from "../test/support/score-pii-corpus.ts";

const score = scorePiiCorpus(readPiiCorpus());
const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
const interval = (successes: number, total: number) => {
  const [low, high] = wilsonInterval(successes, total);
  return `${percent(low)}–${percent(high)}`;
};

console.log(
  "| type | class | positives | recall (95% CI) | typed as itself | hard negatives | FPR (95% CI) |",
);
console.log("|---|---|---:|---|---:|---:|---|");
for (const entry of score.perType) {
  const kind = entry.type === "generic" ? "—" : ENTITY_CLASSES[entry.type];
  const recall =
    entry.positives === 0
      ? "—"
      : `${percent(entry.masked / entry.positives)} (${interval(entry.masked, entry.positives)})`;
  const typed = entry.positives === 0 ? "—" : percent(entry.typed / entry.positives);
  const fpr =
    entry.negatives === 0
      ? "—"
      : `${percent(entry.flagged / entry.negatives)} (${interval(entry.flagged, entry.negatives)})`;
  console.log(
    `| ${entry.type} | ${kind} | ${entry.positives} | ${recall} | ${typed} | ${entry.negatives} | ${fpr} |`,
  );
}
console.log(
  `| **all** | | ${score.positives} | ${percent(score.masked / score.positives)} (${interval(score.masked, score.positives)}) | | ${score.negatives} | ${percent(score.flagged / score.negatives)} (${interval(score.flagged, score.negatives)}) |`,
);
console.log(`\nfindings outside the labelled value on positive rows: ${score.spurious}`);
