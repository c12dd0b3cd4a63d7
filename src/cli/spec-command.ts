import { loadAgentSpec } from "../spec/load-agent-spec.ts";
import { SpecError } from "../spec/spec-error.ts";
import type { CliIo } from "./cli-io.ts";

/** `keel spec validate <files…>`: load each spec as the server would and print every issue with its place. */
export async function specValidateCommand(options: { io: CliIo; files: readonly string[] }): Promise<number> {
  let failed = 0;
  for (const file of options.files) {
    try {
      const loaded = await loadAgentSpec(file);
      options.io.out(`✔ ${file}: ${loaded.spec.name}@${loaded.spec.version} ${loaded.versionHash}`);
    } catch (error) {
      if (!(error instanceof SpecError)) throw error;
      failed += 1;
      options.io.err(`✖ ${file}\n${error.message}`);
    }
  }
  return failed === 0 ? 0 : 1;
}
