import { readFileSync } from "node:fs";
import { detectEntities } from "../../src/guards/redaction/detect-entities.ts";
import { ENTITY_TYPES, type EntityClass, type EntityType } from "../../src/guards/redaction/entity-types.ts";
import type { CorpusRow } from "../fixtures/generate-pii-corpus.ts";

/** Recall and false-positive rate for one entity type (negatives grouped by the type they imitate). */
export type TypeScore = {
  type: EntityType | "generic";
  positives: number;
  masked: number;
  /** Masked by a finding of the labelled type (not by an overlapping one of another type). */
  typed: number;
  negatives: number;
  flagged: number;
  /** Findings of this type outside every labelled value, on any row: what precision counts against. */
  wrong: number;
};

/** The whole corpus's score, per type and overall. */
export type CorpusScore = {
  rows: number;
  perType: TypeScore[];
  positives: number;
  masked: number;
  negatives: number;
  flagged: number;
  /** Findings on positive rows outside the labelled value: masking something that was not labelled sensitive. */
  spurious: number;
  misses: { id: string; text: string }[];
  falsePositives: { id: string; text: string }[];
};

const ALL: ReadonlySet<EntityClass> = new Set(["pii", "secrets"]);

/** Read the committed corpus. */
export function readPiiCorpus(url = new URL("../fixtures/pii-corpus.jsonl", import.meta.url)): CorpusRow[] {
  return readFileSync(url, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as CorpusRow);
}

/**
 * Run the detectors over every row. A positive counts as recalled when findings cover its whole labelled span;
 * a negative counts as a false positive when anything at all is found in it outside the values it is labelled to
 * hold (the team's email beside a team name that must not be read as a person's). A finding that overlaps no labelled
 * value (the row's own or the others it holds, such as the email beside a name) counts against its type's
 * precision.
 */
export function scorePiiCorpus(rows: readonly CorpusRow[]): CorpusScore {
  const perType = new Map<EntityType | "generic", TypeScore>(
    [...ENTITY_TYPES, "generic" as const].map((type) => [
      type,
      { type, positives: 0, masked: 0, typed: 0, negatives: 0, flagged: 0, wrong: 0 },
    ]),
  );
  const score: CorpusScore = {
    rows: rows.length,
    perType: [],
    positives: 0,
    masked: 0,
    negatives: 0,
    flagged: 0,
    spurious: 0,
    misses: [],
    falsePositives: [],
  };
  for (const row of rows) {
    const findings = detectEntities(row.text, ALL);
    if (row.label === "positive") {
      const entry = perType.get(row.type)!;
      const { start, end } = row.span;
      const overlapping = findings.filter((finding) => finding.start < end && start < finding.end);
      const covered = coverage(overlapping, start, end) === end - start;
      entry.positives += 1;
      score.positives += 1;
      if (covered) {
        entry.masked += 1;
        score.masked += 1;
      } else {
        score.misses.push({ id: row.id, text: row.text });
      }
      if (covered && overlapping.some((finding) => finding.type === row.type)) entry.typed += 1;
      const labelled = [row.span, ...(row.also ?? [])];
      for (const finding of findings) {
        if (labelled.some((span) => finding.start < span.end && span.start < finding.end)) continue;
        score.spurious += 1;
        perType.get(finding.type)!.wrong += 1;
      }
    } else {
      const labelled = row.also ?? [];
      const unlabelled = findings.filter(
        (finding) => !labelled.some((span) => finding.start < span.end && span.start < finding.end),
      );
      for (const finding of unlabelled) perType.get(finding.type)!.wrong += 1;
      const entry = perType.get(row.mimics)!;
      entry.negatives += 1;
      score.negatives += 1;
      if (unlabelled.length > 0) {
        entry.flagged += 1;
        score.flagged += 1;
        score.falsePositives.push({ id: row.id, text: row.text });
      }
    }
  }
  score.perType = [...perType.values()];
  return score;
}

function coverage(findings: readonly { start: number; end: number }[], start: number, end: number): number {
  let covered = 0;
  for (let index = start; index < end; index += 1) {
    if (findings.some((finding) => finding.start <= index && index < finding.end)) covered += 1;
  }
  return covered;
}

/** Precision of one type: values masked as that type over everything that type masked. */
export function precisionOf(entry: TypeScore): number {
  return entry.typed + entry.wrong === 0 ? 1 : entry.typed / (entry.typed + entry.wrong);
}

/** The Wilson score interval (95%) of a proportion, as [low, high]. */
export function wilsonInterval(successes: number, total: number): [number, number] {
  if (total === 0) return [0, 1];
  const z = 1.959964;
  const p = successes / total;
  const denominator = 1 + (z * z) / total;
  const centre = (p + (z * z) / (2 * total)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / total + (z * z) / (4 * total * total))) / denominator;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}
