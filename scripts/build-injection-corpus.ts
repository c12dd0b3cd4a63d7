/**
 * `npx node scripts/build-injection-corpus.ts`: write `data/injection/keel-injection.jsonl`, the hand-written
 * rows of Keel's injection corpus (`injection-corpus-rows.ts`) in their train / validation / test splits. The
 * grammar's training rows are not written out: `scripts/train-injection-model.ts` draws them itself.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writtenRows } from "./injection-corpus-rows.ts";

const output = join(fileURLToPath(new URL("../", import.meta.url)), "data/injection/keel-injection.jsonl");
const rows = writtenRows();
writeFileSync(output, `${rows.map((row) => JSON.stringify(row)).join("\n")}\n`);
const counts = new Map<string, number>();
for (const row of rows) {
  const key = `${row.split}\t${row.attack_class === "benign" ? `benign/${row.benign_subclass}` : row.attack_class}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
console.log(`${rows.length} rows written to ${output}`);
for (const [key, count] of [...counts.entries()].sort()) console.log(`${key}\t${count}`);
