import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { loadDataset } from "../src/evals/load-dataset.ts";
import { detectInjection } from "../src/guards/index.ts";
import { readEverydayTexts } from "../src/guards/injection/read-injection-corpus.ts";

const EXAMPLES = fileURLToPath(new URL("../examples/", import.meta.url));
const EVERYDAY = fileURLToPath(new URL("../data/injection/everyday.jsonl", import.meta.url));

/** Every eval case of every example, with the file it comes from. */
async function exampleCases() {
  const cases: Array<{ file: string; id: string; input: string; adversarial: boolean }> = [];
  for (const example of readdirSync(EXAMPLES)) {
    const folder = join(EXAMPLES, example, "evals");
    let files: string[];
    try {
      files = readdirSync(folder).filter((file) => /\.ya?ml$/.test(file));
    } catch {
      continue;
    }
    for (const file of files) {
      const dataset = await loadDataset(join(folder, file));
      for (const entry of dataset.cases) {
        if (typeof entry.input !== "string") continue;
        cases.push({
          file: `${example}/evals/${file}`,
          id: entry.id,
          input: entry.input,
          // A case is an attack when its set, its category or a tag says so.
          adversarial:
            file.startsWith("adversarial") ||
            /adversarial|injection/.test(entry.category ?? "") ||
            (entry.tags ?? []).includes("adversarial"),
        });
      }
    }
  }
  return cases;
}

describe("the injection guard's default on the examples' own requests", () => {
  test("refuses none of the ordinary requests in the examples' eval sets", async () => {
    const cases = await exampleCases();
    const ordinary = cases.filter((entry) => !entry.adversarial);
    assert.ok(ordinary.length >= 200, `${ordinary.length} ordinary cases`);
    const refused = ordinary
      .map((entry) => ({ entry, verdict: detectInjection(entry.input, { source: "input" }) }))
      .filter(({ verdict }) => verdict.detected)
      .map(({ entry, verdict }) => `${entry.file} ${entry.id} (${verdict.score}): ${entry.input}`);
    assert.deepEqual(refused, []);
  });

  test("flags at most one in fifty everyday messages and tool results", async () => {
    const texts = await readEverydayTexts(EVERYDAY);
    assert.equal(texts.length, 500);
    const flagged = texts
      .filter(({ text, source }) => detectInjection(text, { source }).detected)
      .map(({ id }) => id);
    assert.ok(flagged.length <= texts.length / 50, `${flagged.length} flagged: ${flagged.join(", ")}`);
  });
});
