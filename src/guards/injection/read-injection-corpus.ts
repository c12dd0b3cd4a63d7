import { readFile } from "node:fs/promises";
import { z } from "zod";

/** The corpus's splits: rules are written against the exemplar bank, the threshold is fitted on validation, test is held out. */
export const CorpusSplit = z.enum(["exemplar_bank", "validation", "test"]);
export type CorpusSplit = z.output<typeof CorpusSplit>;

/** One labelled row of an injection corpus (the fields the evaluation uses; others are ignored). */
export const CorpusRow = z.object({
  id: z.string().min(1),
  split: CorpusSplit,
  attack_class: z.string().min(1),
  bypass_class: z.string().min(1),
  benign_subclass: z.string().min(1),
  source_type: z.string().min(1),
  text: z.string(),
});
export type CorpusRow = z.output<typeof CorpusRow>;

/** The splits the tuning code may read; the test split is never among them. */
export const TUNING_SPLITS: readonly CorpusSplit[] = ["exemplar_bank", "validation"];

/**
 * Read the rows of the given splits from a JSONL corpus. Rows of other splits are skipped before their text is
 * parsed, so code that asks only for tuning splits never holds a test row. A malformed row fails with its line
 * number and the field at fault.
 */
export async function readInjectionCorpus(options: {
  path: string;
  splits: readonly CorpusSplit[];
}): Promise<CorpusRow[]> {
  if (options.splits.length === 0) throw new RangeError("splits must name at least one split");
  const wanted = new Set(options.splits);
  const rows: CorpusRow[] = [];
  const lines = (await readFile(options.path, "utf8")).split("\n");
  for (const [index, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const split = /"split"\s*:\s*"([^"]+)"/.exec(line)?.[1];
    if (split === undefined) throw new SyntaxError(`${options.path}:${index + 1}: row has no "split" field`);
    if (!wanted.has(split as CorpusSplit)) continue;
    const parsed = CorpusRow.safeParse(JSON.parse(line));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new SyntaxError(
        `${options.path}:${index + 1}: ${issue.path.join(".") || "row"}: ${issue.message}`,
      );
    }
    rows.push(parsed.data);
  }
  return rows;
}

/** Where the detector meets a row's text: user rows are run input, everything else arrives as a tool result. */
export function sourceOfRow(row: Pick<CorpusRow, "source_type">): "input" | "tool-result" {
  return row.source_type === "user" ? "input" : "tool-result";
}

/** The writer of a held-out writer's row: the batch in its family id (`unseen:attack:role_play:v:004:1`). */
export function writerOf(row: Pick<CorpusRow, "id">): string {
  const writer = row.id.startsWith("unseen:") ? row.id.split(":")[3] : undefined;
  if (writer === undefined) throw new Error(`${row.id}: not the id of a held-out writer's row`);
  return writer;
}

/** One ordinary text of `everyday.jsonl`: a message a user sends, or a tool's output. */
export const EverydayText = z.object({
  id: z.string().min(1),
  source: z.enum(["input", "tool-result"]),
  text: z.string(),
});
export type EverydayText = z.output<typeof EverydayText>;

/** Read a JSONL file of everyday texts; a malformed line fails with its line number and the field at fault. */
export async function readEverydayTexts(path: string): Promise<EverydayText[]> {
  const texts: EverydayText[] = [];
  for (const [index, line] of (await readFile(path, "utf8")).split("\n").entries()) {
    if (line.trim() === "") continue;
    const parsed = EverydayText.safeParse(JSON.parse(line));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new SyntaxError(`${path}:${index + 1}: ${issue.path.join(".") || "row"}: ${issue.message}`);
    }
    texts.push(parsed.data);
  }
  return texts;
}
