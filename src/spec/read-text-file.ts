import { readFile } from "node:fs/promises";

/** A text file's contents, or why it could not be read, in words for a spec author. */
export async function readTextFile(file: string): Promise<{ text: string } | { problem: string }> {
  try {
    return { text: await readFile(file, "utf8") };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { problem: `file not found: ${file}` };
    if (code === "EISDIR") return { problem: `expected a file, found a directory: ${file}` };
    return { problem: `cannot read ${file}: ${(error as Error).message}` };
  }
}
