import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { generatePiiCorpus } from "../../../test/fixtures/generate-pii-corpus.ts";
import {
  precisionOf,
  readPiiCorpus,
  scorePiiCorpus,
  wilsonInterval,
} from "../../../test/support/score-pii-corpus.ts";
import { ENTITY_TYPES } from "./entity-types.ts";

const rows = readPiiCorpus();
const dev = scorePiiCorpus(rows.filter((row) => row.split === "dev"));
const test = scorePiiCorpus(rows.filter((row) => row.split === "test"));

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

  it("holds a dev and a held-out test split, each with positives of every type and hard negatives", () => {
    for (const score of [dev, test]) {
      assert.ok(score.positives >= 1_300, `${score.positives} positives`);
      assert.ok(score.negatives >= 800, `${score.negatives} negatives`);
    }
    for (const type of ENTITY_TYPES) {
      for (const split of ["dev", "test"]) {
        const positives = rows.filter(
          (row) => row.split === split && row.label === "positive" && row.type === type,
        ).length;
        assert.ok(positives >= 36, `${split}: ${positives} positives for ${type}`);
      }
    }
    // Look-alikes of the types most often confused: product codes, versions, other identifiers, teams and places.
    for (const type of ["passport", "person", "in_aadhaar", "ipv4", "phone"] as const) {
      const entry = test.perType.find((score) => score.type === type)!;
      assert.ok(entry.negatives >= 48, `${type}: ${entry.negatives} held-out negatives`);
    }
  });

  it("is recalled at 95% or more, with at most 2% of hard negatives flagged, for every type on the dev split", () => {
    for (const entry of dev.perType) {
      if (entry.positives > 0)
        assert.ok(
          entry.masked / entry.positives >= 0.95,
          `${entry.type}: ${entry.masked}/${entry.positives}`,
        );
      if (entry.negatives > 0)
        assert.ok(
          entry.flagged / entry.negatives <= 0.02,
          `${entry.type}: ${entry.flagged}/${entry.negatives}`,
        );
    }
  });

  it("meets the targets on the held-out split: recall ≥ 95% and false positives ≤ 2% for every type", () => {
    for (const entry of test.perType) {
      if (entry.positives > 0) {
        const [low] = wilsonInterval(entry.masked, entry.positives);
        assert.ok(
          entry.masked / entry.positives >= 0.95,
          `${entry.type}: recall ${entry.masked}/${entry.positives} (Wilson low ${low.toFixed(3)}): ${JSON.stringify(test.misses.filter((miss) => miss.id.includes(`-${entry.type}-`)))}`,
        );
        assert.ok(precisionOf(entry) >= 0.95, `${entry.type}: precision ${precisionOf(entry).toFixed(3)}`);
      }
      if (entry.negatives > 0) {
        assert.ok(
          entry.flagged / entry.negatives <= 0.02,
          `${entry.type}: ${entry.flagged}/${entry.negatives} flagged: ${JSON.stringify(test.falsePositives.slice(0, 5))}`,
        );
      }
    }
    assert.ok(test.spurious / test.positives <= 0.02, `${test.spurious} findings outside labelled values`);
  });
});
