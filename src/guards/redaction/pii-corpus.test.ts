import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { generatePiiCorpus } from "../../../test/fixtures/generate-pii-corpus.ts";
import { readPiiCorpus, scorePiiCorpus } from "../../../test/support/score-pii-corpus.ts";
import { ENTITY_TYPES } from "./entity-types.ts";

const rows = readPiiCorpus();
const score = scorePiiCorpus(rows);

describe("the labelled PII and secrets corpus", () => {
  it("is what the seeded generator writes, so it can be regenerated and reviewed", () => {
    const committed = readFileSync(
      new URL("../../../test/fixtures/pii-corpus.jsonl", import.meta.url),
      "utf8",
    );
    const generated = `${generatePiiCorpus()
      .map((row) => JSON.stringify(row))
      .join("\n")}\n`;
    assert.equal(committed, generated);
  });

  it("holds at least 1,000 positives across every entity type and at least 500 hard negatives", () => {
    assert.ok(score.positives >= 1_000, `${score.positives} positives`);
    assert.ok(score.negatives >= 500, `${score.negatives} negatives`);
    assert.ok(ENTITY_TYPES.length >= 25);
    for (const type of ENTITY_TYPES) {
      assert.ok(
        rows.some((row) => row.label === "positive" && row.type === type),
        `no positives for ${type}`,
      );
    }
  });

  it("is recalled at 95% or more overall and for every type", () => {
    assert.ok(score.masked / score.positives >= 0.95, `overall recall ${score.masked}/${score.positives}`);
    for (const entry of score.perType) {
      if (entry.positives === 0) continue;
      assert.ok(entry.masked / entry.positives >= 0.95, `${entry.type}: ${entry.masked}/${entry.positives}`);
    }
  });

  it("flags at most 2% of hard negatives and masks nothing outside the labelled values", () => {
    assert.ok(
      score.flagged / score.negatives <= 0.02,
      `false positives ${score.flagged}/${score.negatives}: ${JSON.stringify(score.falsePositives.slice(0, 5))}`,
    );
    assert.ok(
      score.spurious / score.positives <= 0.02,
      `${score.spurious} spurious findings on positive rows`,
    );
  });
});
