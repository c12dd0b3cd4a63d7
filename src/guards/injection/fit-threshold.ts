import { type Detector, detectInjection } from "./detect-injection.ts";
import { type CorpusRow, sourceOfRow } from "./read-injection-corpus.ts";

/** The fitted threshold and what it achieves on the rows it was fitted on. */
export type FittedThreshold = { threshold: number; recall: number; falsePositiveRate: number; rows: number };

/**
 * Fit the detection threshold on validation rows: the lowest threshold whose false-positive rate is at most
 * `maxFalsePositiveRate`, placed midway between the benign score it has to clear and the next score above it (so
 * it is not tuned to the last decimal). Refuses any row outside the validation split: the test split must stay unseen.
 */
export function fitThreshold(
  rows: readonly CorpusRow[],
  options: { maxFalsePositiveRate: number; detector: Detector },
): FittedThreshold {
  const { maxFalsePositiveRate } = options;
  if (!(maxFalsePositiveRate >= 0 && maxFalsePositiveRate < 1)) {
    throw new RangeError(`maxFalsePositiveRate must be in [0, 1), got ${maxFalsePositiveRate}`);
  }
  const foreign = rows.find((row) => row.split !== "validation");
  if (foreign)
    throw new RangeError(
      `fitThreshold takes validation rows only; row ${foreign.id} is from ${foreign.split}`,
    );
  const scored = rows.map((row) => ({
    attack: row.attack_class !== "benign",
    score: detectInjection(row.text, { source: sourceOfRow(row), threshold: 1, detector: options.detector })
      .score,
  }));
  return { ...placeThreshold(scored, maxFalsePositiveRate), rows: rows.length };
}

/**
 * The threshold placement `fitThreshold` uses, on scores already computed: the lowest threshold whose
 * false-positive rate is at most `maxFalsePositiveRate`, midway between the benign score it has to clear and the
 * next score above it.
 */
export function placeThreshold(
  scored: ReadonlyArray<{ attack: boolean; score: number }>,
  maxFalsePositiveRate: number,
): Omit<FittedThreshold, "rows"> {
  const benign = scored
    .filter((row) => !row.attack)
    .map((row) => row.score)
    .sort((left, right) => right - left);
  const attacks = scored.filter((row) => row.attack);
  if (benign.length === 0 || attacks.length === 0)
    throw new RangeError("fitting needs both benign and attack rows");
  // The benign rows allowed above the threshold, then the score the threshold has to clear.
  const allowed = Math.floor(maxFalsePositiveRate * benign.length + 1e-9);
  const mustClear = benign[allowed] ?? 0;
  const above = scored.map((row) => row.score).filter((score) => score > mustClear);
  const next = above.length > 0 ? Math.min(...above) : 1;
  // Midway, on the scores' grid of thousandths; never at the score it has to clear, which rounding a midpoint
  // between neighbouring thousandths could otherwise give, flagging that benign row after all.
  const midway = Math.round(((mustClear + next) / 2) * 1000) / 1000;
  const threshold = midway > mustClear ? midway : Math.round(mustClear * 1000 + 1) / 1000;
  const caught = attacks.filter((row) => row.score >= threshold).length;
  const flagged = benign.filter((score) => score >= threshold).length;
  return { threshold, recall: caught / attacks.length, falsePositiveRate: flagged / benign.length };
}
