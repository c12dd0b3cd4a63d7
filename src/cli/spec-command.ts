import { resolve } from "node:path";
import { inspectPackageTools } from "../runtime/index.ts";
import { loadAgentSpec, loadWorkflowSpec, readSpecKind, SpecError } from "../spec/index.ts";
import { importAgentPackages } from "./agent-packages.ts";
import type { CliIo } from "./cli-io.ts";

/**
 * `keel spec validate <files…>`: load each spec (an agent, or a workflow) as the server would and print every issue
 * with its place. An agent spec that a package in the packages module serves is also checked against the tools
 * that package provides, the check `keel serve` makes at start.
 */
export async function specValidateCommand(options: {
  io: CliIo;
  files: readonly string[];
  packagesModule: string;
}): Promise<number> {
  const packages = await importAgentPackages(options.packagesModule);
  const byFile = new Map(
    packages.flatMap((agentPackage) =>
      [agentPackage.specFile, ...(agentPackage.versions ?? [])].map(
        (file) => [resolve(file), agentPackage] as const,
      ),
    ),
  );
  let failed = 0;
  for (const file of options.files) {
    const agentPackage = byFile.get(resolve(file));
    try {
      if ((await readSpecKind(file)) === "Workflow") {
        const { definition } = await loadWorkflowSpec(file);
        const nodes = Object.keys(definition.nodes).length;
        options.io.out(
          `✔ ${file}: workflow ${definition.name}@${definition.version} ${definition.versionHash} (${nodes} nodes)`,
        );
        continue;
      }
      const loaded = await loadAgentSpec(
        file,
        agentPackage ? { providedTools: inspectPackageTools(agentPackage).map((tool) => tool.name) } : {},
      );
      options.io.out(`✔ ${file}: ${loaded.spec.name}@${loaded.spec.version} ${loaded.versionHash}`);
      if (!agentPackage)
        options.io.out(
          `  its tools were not checked: no agent package in ${options.packagesModule} serves this file (--packages)`,
        );
    } catch (error) {
      if (!(error instanceof SpecError)) throw error;
      failed += 1;
      options.io.err(`✖ ${file}\n${error.message}`);
    }
  }
  return failed === 0 ? 0 : 1;
}
