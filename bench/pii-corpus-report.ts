/**
 * `node bench/pii-corpus-report.ts [--split dev|test]`: recall, false-positive rate and precision of the PII and
 * secret detectors per entity type on one split of the labelled corpus (test/fixtures/pii-corpus.jsonl; the
 * held-out `test` split by default), with Wilson 95% intervals, as the Markdown table docs/security.md shows.
 */
import { parseArgs } from "node:util";
import { ENTITY_CLASSES } from "../src/guards/index.ts";
import {
  precisionOf,
  readPiiCorpus,
  scorePiiCorpus,
  wilsonInterval,
} from "../test/support/score-pii-corpus.ts";

const { values } = parseArgs({ options: { split: { type: "string", default: "test" } } });
if (values.split !== "dev" && values.split !== "test")
  throw new Error(`--split must be dev or test, not ${values.split}`);
const score = scorePiiCorpus(readPiiCorpus().filter((row) => row.split === values.split));
const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
const interval = (successes: number, total: number) => {
  const [low, high] = wilsonInterval(successes, total);
  return `${percent(low)}–${percent(high)}`;
};

console.log(`split: ${values.split}\n`);
console.log("| type | class | positives | recall (95% CI) | precision | hard negatives | FPR (95% CI) |");
console.log("|---|---|---:|---|---:|---:|---|");
for (const entry of score.perType) {
  const kind = entry.type === "generic" ? "—" : ENTITY_CLASSES[entry.type];
  const recall =
    entry.positives === 0
      ? "—"
      : `${percent(entry.masked / entry.positives)} (${interval(entry.masked, entry.positives)})`;
  const precision = entry.positives === 0 ? "—" : percent(precisionOf(entry));
  const fpr =
    entry.negatives === 0
      ? "—"
      : `${percent(entry.flagged / entry.negatives)} (${interval(entry.flagged, entry.negatives)})`;
  console.log(
    `| ${entry.type} | ${kind} | ${entry.positives} | ${recall} | ${precision} | ${entry.negatives} | ${fpr} |`,
  );
}
console.log(
  `| **all** | | ${score.positives} | ${percent(score.masked / score.positives)} (${interval(score.masked, score.positives)}) | | ${score.negatives} | ${percent(score.flagged / score.negatives)} (${interval(score.flagged, score.negatives)}) |`,
);
console.log(`\nfindings outside the labelled values on positive rows: ${score.spurious}`);
for (const miss of score.misses) console.log(`missed ${miss.id}: ${JSON.stringify(miss.text)}`);
for (const flagged of score.falsePositives)
  console.log(`flagged ${flagged.id}: ${JSON.stringify(flagged.text)}`);
