/**
 * `node bench/injection-corpus-report.ts [--split validation|test] [--detector rules|combined]`: the injection
 * detector's recall and false-positive rate per attack class, bypass technique and benign subclass, with Wilson
 * 95% intervals, on Keel's written corpus, on the benchmark corpus, on the guard's own examples
 * (`__fixtures__/held-out-examples.json`), on everyday traffic (`everyday.jsonl`, false positives only) and on the
 * writers held out whole (`unseen-writers.jsonl`: the calibration writers in the validation split, the later
 * rounds in test). Both detectors by default, each at its frozen threshold; the test split is read only when
 * asked for.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { INJECTION_THRESHOLD } from "../src/guards/index.ts";
import type { Detector } from "../src/guards/injection/detect-injection.ts";
import { RULES_THRESHOLD } from "../src/guards/injection/injection-threshold.ts";
import {
  type CorpusRow,
  type CorpusSplit,
  readEverydayTexts,
  readInjectionCorpus,
  writerOf,
} from "../src/guards/injection/read-injection-corpus.ts";
import { type ClassResult, type Proportion, scoreCorpus } from "../src/guards/injection/score-corpus.ts";

const { values } = parseArgs({
  options: {
    split: { type: "string", default: "test" },
    detector: { type: "string", multiple: true },
  },
});
const split = values.split as CorpusSplit;
if (!["exemplar_bank", "validation", "test"].includes(split))
  throw new Error(`--split: unknown split ${split}`);
const detectors = (values.detector ?? ["rules", "combined"]) as Detector[];
const THRESHOLDS: Record<Detector, number> = { rules: RULES_THRESHOLD, combined: INJECTION_THRESHOLD };

type Example = { source: "input" | "tool-result"; class?: string; text: string };
const examples = JSON.parse(
  readFileSync("src/guards/injection/__fixtures__/held-out-examples.json", "utf8"),
) as { attacks: Example[]; benign: Example[] };
const fixtureRows: CorpusRow[] = [
  ...examples.attacks.map((example, index) => fixtureRow(example, index, example.class ?? "attack")),
  ...examples.benign.map((example, index) => fixtureRow(example, index, "benign")),
];

const sets: Array<{ name: string; rows: CorpusRow[] }> = [
  {
    name: `keel-injection.jsonl, ${split} split`,
    rows: await readInjectionCorpus({ path: "data/injection/keel-injection.jsonl", splits: [split] }),
  },
  {
    name: `agt-injection-smoke.jsonl, ${split} split`,
    rows: await readInjectionCorpus({ path: "data/injection/agt-injection-smoke.jsonl", splits: [split] }),
  },
  { name: "the guard's own examples (held-out-examples.json)", rows: fixtureRows },
];
sets.push({ name: `both corpora, ${split} split`, rows: [...sets[0]!.rows, ...sets[1]!.rows] });
// Everyday traffic: ordinary messages and tool outputs, in no split, the check that the default leaves normal
// text alone (the corpora's benign rows are mostly hard on purpose).
sets.push({
  name: "everyday.jsonl (ordinary messages and tool outputs)",
  rows: (await readEverydayTexts("data/injection/everyday.jsonl")).map(({ id, source, text }) => ({
    id,
    split,
    attack_class: "benign",
    bypass_class: "none",
    benign_subclass: `everyday_${source === "input" ? "input" : "tool_result"}`,
    source_type: source === "input" ? "user" : "tool",
    text,
  })),
});
// Writers held out whole: none of their rows is trained on. The first two rounds are validation rows (they place
// the threshold with the corpora's validation split) and are reported with it; the later rounds are test rows,
// read only here. Each round is also scored on its own, since a later round was written after the model had been
// changed following an earlier round's scoring.
const HELD_OUT_ROUNDS = [
  { name: "first round, writers n, o, p (calibration)", writers: ["n", "o", "p"] },
  { name: "second round, writers v, w, x (calibration)", writers: ["v", "w", "x"] },
  { name: "third round, writers h1, h2, h3", writers: ["h1", "h2", "h3"] },
  { name: "fourth round, writers g1, g2, g3", writers: ["g1", "g2", "g3"] },
  { name: "fifth round, writers e1, e2, e3", writers: ["e1", "e2", "e3"] },
  { name: "sixth round, writers k1, k2, k3", writers: ["k1", "k2", "k3"] },
];
{
  const rows = await readInjectionCorpus({ path: "data/injection/unseen-writers.jsonl", splits: [split] });
  if (rows.length > 0)
    sets.push({ name: `unseen-writers.jsonl, ${split} split (writers held out whole)`, rows });
  for (const round of HELD_OUT_ROUNDS.filter((each) =>
    rows.some((row) => each.writers.includes(writerOf(row))),
  ))
    sets.push({
      name: `unseen-writers.jsonl, ${round.name}`,
      rows: rows.filter((row) => round.writers.includes(writerOf(row))),
    });
}

for (const detector of detectors) {
  for (const { name, rows } of sets) {
    const score = scoreCorpus(rows, { threshold: THRESHOLDS[detector], detector });
    console.log(`\n### ${detector} (threshold ${THRESHOLDS[detector]}) — ${name}, ${rows.length} rows\n`);
    console.log(`recall ${format(score.recall)}; false-positive rate ${format(score.falsePositiveRate)}\n`);
    printTable("attack class", "recall", score.byAttackClass);
    printTable("bypass technique", "recall", score.byBypassClass);
    printTable("benign subclass", "flagged (false positives)", score.byBenignSubclass);
  }
}

function fixtureRow(example: Example, index: number, attackClass: string): CorpusRow {
  return {
    id: `fixture-${attackClass}-${index}`,
    split: "test",
    attack_class: attackClass,
    bypass_class: "none",
    benign_subclass: attackClass === "benign" ? "fixture_benign" : "not_applicable",
    source_type: example.source === "input" ? "user" : "tool",
    text: example.text,
  };
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
