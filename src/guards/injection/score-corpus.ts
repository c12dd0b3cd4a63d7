import { type Detector, detectInjection } from "./detect-injection.ts";
import { type CorpusRow, sourceOfRow } from "./read-injection-corpus.ts";

/** A proportion with its Wilson 95% interval. */
export type Proportion = { hits: number; total: number; rate: number; low: number; high: number };

/** One line of a results table: a class and the proportion of its rows flagged. */
export type ClassResult = { name: string } & Proportion;

/** Recall per attack class and per bypass technique, and false positives overall and per benign subclass. */
export type CorpusScore = {
  threshold: number;
  recall: Proportion;
  falsePositiveRate: Proportion;
  byAttackClass: ClassResult[];
  byBypassClass: ClassResult[];
  byBenignSubclass: ClassResult[];
};

const Z95 = 1.959963984540054;

/** The Wilson score interval at 95% for `hits` out of `total` (honest for small samples and rates near 0 or 1). */
export function wilsonInterval(hits: number, total: number): Proportion {
  if (!Number.isInteger(hits) || !Number.isInteger(total) || hits < 0 || total < 0 || hits > total) {
    throw new RangeError(`wilsonInterval needs integers 0 <= hits <= total, got ${hits}/${total}`);
  }
  if (total === 0) return { hits, total, rate: 0, low: 0, high: 1 };
  const rate = hits / total;
  const z2 = Z95 * Z95;
  const centre = (rate + z2 / (2 * total)) / (1 + z2 / total);
  const half = (Z95 * Math.sqrt((rate * (1 - rate)) / total + z2 / (4 * total * total))) / (1 + z2 / total);
  return { hits, total, rate, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Score a detector on labelled rows at a threshold: the rows flagged per class, with Wilson intervals. */
export function scoreCorpus(
  rows: readonly CorpusRow[],
  options: { threshold: number; detector?: Detector },
): CorpusScore {
  const tallies = {
    attack: new Map<string, [number, number]>(),
    bypass: new Map<string, [number, number]>(),
    benign: new Map<string, [number, number]>(),
  };
  let caught = 0;
  let attacks = 0;
  let flagged = 0;
  let benign = 0;
  for (const row of rows) {
    const verdict = detectInjection(row.text, {
      source: sourceOfRow(row),
      threshold: options.threshold,
      detector: options.detector ?? "combined",
    });
    const isAttack = row.attack_class !== "benign";
    const hit = verdict.detected ? 1 : 0;
    if (isAttack) {
      attacks += 1;
      caught += hit;
      count(tallies.attack, row.attack_class, hit);
      count(tallies.bypass, row.bypass_class, hit);
    } else {
      benign += 1;
      flagged += hit;
      count(tallies.benign, row.benign_subclass, hit);
    }
  }
  return {
    threshold: options.threshold,
    recall: wilsonInterval(caught, attacks),
    falsePositiveRate: wilsonInterval(flagged, benign),
    byAttackClass: table(tallies.attack),
    byBypassClass: table(tallies.bypass),
    byBenignSubclass: table(tallies.benign),
  };
}

function count(tally: Map<string, [number, number]>, name: string, hit: number): void {
  const entry = tally.get(name) ?? [0, 0];
  entry[0] += hit;
  entry[1] += 1;
  tally.set(name, entry);
}

function table(tally: Map<string, [number, number]>): ClassResult[] {
  return [...tally.entries()]
    .sort(([left], [right]) => left.localeCompare(right))
    .map(([name, [hits, total]]) => ({ name, ...wilsonInterval(hits, total) }));
}
