import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KeelError } from "../errors/index.ts";
import { type AuditBundle, BUNDLE_FILES, BUNDLE_README, parseAuditBundle } from "../journal/index.ts";
import type { ExportedBundle } from "../store/index.ts";

/** Write an exported bundle into `dir` (created if needed): the JSON files, events.jsonl streamed, the README. */
export async function writeBundle(dir: string, bundle: ExportedBundle): Promise<void> {
  await mkdir(dir, { recursive: true });
  const events = createWriteStream(join(dir, BUNDLE_FILES.events));
  for await (const line of bundle.events) {
    if (!events.write(`${line}\n`)) await once(events, "drain");
  }
  events.end();
  await once(events, "finish");
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  await writeFile(join(dir, BUNDLE_FILES.manifest), json(bundle.manifest));
  await writeFile(join(dir, BUNDLE_FILES.checkpoints), json(bundle.checkpoints));
  await writeFile(join(dir, BUNDLE_FILES.keys), json(bundle.keys));
  await writeFile(join(dir, BUNDLE_FILES.proofs), json(bundle.proofs));
  await writeFile(join(dir, BUNDLE_FILES.readme), BUNDLE_README);
}

/** Read a bundle directory; a missing file is named in the error. */
export async function readBundle(dir: string): Promise<AuditBundle> {
  const read = async (name: string) => {
    try {
      return await readFile(join(dir, name), "utf8");
    } catch {
      throw new KeelError("not_found", `${join(dir, name)} is missing: is ${dir} an audit bundle?`);
    }
  };
  return parseAuditBundle({
    manifest: await read(BUNDLE_FILES.manifest),
    events: await read(BUNDLE_FILES.events),
    checkpoints: await read(BUNDLE_FILES.checkpoints),
    keys: await read(BUNDLE_FILES.keys),
    proofs: await read(BUNDLE_FILES.proofs),
  });
}
