/**
 * `node bench/injection-corpus-report.ts [--corpus path]`: the injection detector's recall and false-positive
 * rate on the benchmark corpus, per attack class, bypass technique and benign subclass, with Wilson 95%
 * intervals, for the validation split (the frozen threshold was fitted on it) and the held-out test split.
 */
import { parseArgs } from "node:util";
import { INJECTION_THRESHOLD } from "../src/guards/index.ts";
import { type CorpusSplit, readInjectionCorpus } from "../src/guards/injection/read-injection-corpus.ts";
import { type ClassResult, type Proportion, scoreCorpus } from "../src/guards/injection/score-corpus.ts";

const { values } = parseArgs({
  options: { corpus: { type: "string", default: "data/injection/agt-injection-smoke.jsonl" } },
});
const path = values.corpus!;

console.log(`corpus ${path}, frozen threshold ${INJECTION_THRESHOLD}`);
for (const split of ["exemplar_bank", "validation", "test"] as CorpusSplit[]) {
  const rows = await readInjectionCorpus({ path, splits: [split] });
  const score = scoreCorpus(rows, { threshold: INJECTION_THRESHOLD });
  console.log(`\n### ${split} (${rows.length} rows)\n`);
  console.log(`recall ${format(score.recall)}; false-positive rate ${format(score.falsePositiveRate)}\n`);
  printTable("attack class", "recall", score.byAttackClass);
  printTable("bypass technique", "recall", score.byBypassClass);
  printTable("benign subclass", "flagged (false positives)", score.byBenignSubclass);
}

function printTable(title: string, measure: string, rows: readonly ClassResult[]): void {
  console.log(`| ${title} | rows | ${measure} | Wilson 95% |`);
  console.log("|---|---:|---:|---|");
  for (const row of rows) {
    console.log(
      `| ${row.name} | ${row.total} | ${row.hits}/${row.total} (${percent(row.rate)}) | ${percent(row.low)}–${percent(row.high)} |`,
    );
  }
  console.log("");
}

function format(value: Proportion): string {
  return `${value.hits}/${value.total} = ${percent(value.rate)} (Wilson 95% ${percent(value.low)}–${percent(value.high)})`;
}

function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}
