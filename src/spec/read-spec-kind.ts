import { parse } from "yaml";
import { readTextFile } from "./read-text-file.ts";

/**
 * The `kind` a spec file declares (Agent, Workflow, …), so a command given any spec file loads it with the right
 * loader; undefined when the file cannot be read or parsed, or names none (its loader then reports why).
 */
export async function readSpecKind(file: string): Promise<string | undefined> {
  const read = await readTextFile(file);
  if ("problem" in read) return undefined;
  try {
    const data: unknown = parse(read.text);
    const kind = data !== null && typeof data === "object" ? (data as { kind?: unknown }).kind : undefined;
    return typeof kind === "string" ? kind : undefined;
  } catch {
    return undefined;
  }
}
