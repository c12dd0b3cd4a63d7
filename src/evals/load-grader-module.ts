import { pathToFileURL } from "node:url";
import { KeelError } from "../errors/index.ts";
import type { Grader } from "./grader.ts";

/**
 * A team's custom graders: a TypeScript module (the spec's `evals.graders`) exporting `graders`, an array made
 * with `defineGrader`. Returned by name, for cases that list them under `expect.custom`.
 */
export async function loadGraderModule(file: string): Promise<Map<string, Grader>> {
  const loaded = (await import(pathToFileURL(file).href)) as { graders?: unknown };
  if (!Array.isArray(loaded.graders))
    throw new KeelError(
      "invalid_spec",
      `${file} does not export a \`graders\` array (made with defineGrader)`,
    );
  const graders = new Map<string, Grader>();
  for (const grader of loaded.graders as Grader[]) {
    if (typeof grader?.name !== "string" || typeof grader.grade !== "function")
      throw new KeelError(
        "invalid_spec",
        `${file}: every entry of \`graders\` must be a grader (use defineGrader)`,
      );
    if (graders.has(grader.name))
      throw new KeelError("invalid_spec", `${file}: two graders are named "${grader.name}"`);
    graders.set(grader.name, grader);
  }
  return graders;
}
