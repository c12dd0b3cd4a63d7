import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

/** A text file's contents, or why it could not be read, in words for a spec author. */
export async function readTextFile(file: string): Promise<{ text: string } | { problem: string }> {
  try {
    return { text: await readFile(file, "utf8") };
  } catch (error) {
    return { problem: describeReadError(file, error) };
  }
}

/** The same, synchronously: for `defineWorkflow`, which runs where a project's config module is imported. */
export function readTextFileSync(file: string): { text: string } | { problem: string } {
  try {
    return { text: readFileSync(file, "utf8") };
  } catch (error) {
    return { problem: describeReadError(file, error) };
  }
}

function describeReadError(file: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return `file not found: ${file}`;
  if (code === "EISDIR") return `expected a file, found a directory: ${file}`;
  return `cannot read ${file}: ${(error as Error).message}`;
}
