/**
 * `npx node scripts/build-injection-corpus.ts`: write `data/injection/keel-injection.jsonl`, the hand-written
 * rows of Keel's injection corpus (`injection-corpus-rows.ts`) in their train / validation / test splits, and
 * `data/injection/unseen-writers.jsonl`, the texts of writers held out whole (the calibration writers' rows in
 * `validation`, every other row in `test`), and bring
 * each source's rows, families and per-class split counts in `data/injection/MANIFEST.json` up to date. The
 * grammar's training rows are not written out: `scripts/train-injection-model.ts` draws them itself.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writtenRows } from "./injection-corpus-rows.ts";

const folder = join(fileURLToPath(new URL("../", import.meta.url)), "data/injection");
const manifestFile = join(folder, "MANIFEST.json");
type ManifestSource = { name: string; rows?: number; families?: number; counts?: unknown };
const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as { sources: ManifestSource[] };

for (const { name, file, rows } of [
  { name: "keel-injection", file: "keel-injection.jsonl", rows: writtenRows() },
  { name: "unseen-writers", file: "unseen-writers.jsonl", rows: writtenRows({ unseen: true }) },
]) {
  const output = join(folder, file);
  writeFileSync(output, `${rows.map((row) => JSON.stringify(row)).join("\n")}\n`);

  /** Per class (benign rows by subclass): its families, and its rows per split. */
  const counts = new Map<string, { families: Set<string>; splits: Map<string, number> }>();
  for (const row of rows) {
    const key = row.attack_class === "benign" ? `benign/${row.benign_subclass}` : row.attack_class;
    const entry = counts.get(key) ?? { families: new Set(), splits: new Map() };
    entry.families.add(row.family_id);
    entry.splits.set(row.split, (entry.splits.get(row.split) ?? 0) + 1);
    counts.set(key, entry);
  }
  const source = manifest.sources.find((each) => each.name === name);
  if (!source) throw new Error(`${manifestFile}: no source named ${name}`);
  source.rows = rows.length;
  source.families = new Set(rows.map((row) => row.family_id)).size;
  source.counts = Object.fromEntries(
    [...counts.entries()]
      .sort(([left], [right]) => left.localeCompare(right))
      .map(([key, entry]) => [
        key,
        {
          families: entry.families.size,
          ...Object.fromEntries(
            [...entry.splits.entries()].sort(([left], [right]) => left.localeCompare(right)),
          ),
        },
      ]),
  );
  console.log(`${rows.length} rows written to ${output}`);
  for (const [key, entry] of [...counts.entries()].sort(([left], [right]) => left.localeCompare(right)))
    console.log(`${key}\t${entry.families.size} families\t${[...entry.splits.entries()].sort().join("\t")}`);
}
writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 1)}\n`);
console.log(`${manifestFile} updated`);
