import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { KeelError } from "../errors/index.ts";
import type { AgentPackage } from "../runtime/index.ts";

/** The module that lists the agent packages served in a Keel checkout: the bundled examples (not in the package). */
export const DEFAULT_PACKAGES_MODULE = new URL("../../examples/index.ts", import.meta.url).pathname;

/** The file names of a project's configuration, looked for in this order in the working directory. */
export const CONFIG_FILE_NAMES = ["keel.config.ts", "keel.config.js", "keel.config.mjs"] as const;

/**
 * Which module lists the agents a command loads: `--packages`, else KEEL_PACKAGES, else the project's
 * `keel.config.ts` in the working directory, else (in a Keel checkout) the bundled examples.
 */
export function agentPackagesModule(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string = process.cwd(),
): string {
  const named = flag ?? (env.KEEL_PACKAGES || undefined);
  if (named !== undefined) return named;
  for (const name of CONFIG_FILE_NAMES) {
    const file = join(cwd, name);
    if (existsSync(file)) return file;
  }
  if (existsSync(DEFAULT_PACKAGES_MODULE)) return DEFAULT_PACKAGES_MODULE;
  throw new KeelError(
    "not_found",
    `no agents to load: ${cwd} has no keel.config.ts. Run keel in your project's folder, create a project with \`keel init <dir>\`, or name a module with --packages (or KEEL_PACKAGES)`,
  );
}

/**
 * Import the agents a module lists: a project's `keel.config.ts` (`export default defineConfig({ agents })`) or a
 * module exporting `agentPackages: AgentPackage[]`. A module that is not there, or that imports one that is not, is
 * one line naming the file (and what it could not find); an error inside the module keeps its stack.
 */
export async function importAgentPackages(modulePath: string): Promise<AgentPackage[]> {
  const file = resolve(modulePath);
  let loaded: { agentPackages?: unknown; default?: unknown };
  try {
    loaded = (await import(pathToFileURL(file).href)) as typeof loaded;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== "ERR_MODULE_NOT_FOUND" && code !== "ERR_UNSUPPORTED_DIR_IMPORT") throw error;
    const why = !existsSync(file)
      ? "no such file"
      : code === "ERR_UNSUPPORTED_DIR_IMPORT"
        ? "it is a directory; name the module in it (its index.ts)"
        : (error as Error).message;
    throw new KeelError(
      "not_found",
      `cannot load the agent packages module ${file} (keel.config.ts, --packages or KEEL_PACKAGES): ${why}`,
      { cause: error },
    );
  }
  if (Array.isArray(loaded.agentPackages)) return loaded.agentPackages as AgentPackage[];
  const config = loaded.default as { agents?: unknown } | undefined;
  if (config && Array.isArray(config.agents)) return config.agents as AgentPackage[];
  throw new KeelError(
    "invalid_request",
    `${modulePath} exports neither a default configuration with an \`agents\` array (defineConfig({ agents: [...] })) nor an \`agentPackages\` array`,
  );
}
