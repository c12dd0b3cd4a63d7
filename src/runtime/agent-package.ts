import { basename, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { SqlClient } from "../store/index.ts";
import type { Tool } from "../tools/index.ts";

/** How an agent ships: its spec file, the tools it needs, and an optional setup of its own tables. */
export type AgentPackage = {
  name: string;
  /** Absolute path of the agent's `agent.yaml`: its current version, the one new runs get until a rollout. */
  specFile: string;
  /**
   * Absolute paths of other versions' spec files (by convention `versions/<version>.yaml` beside `agent.yaml`), served
   * beside the current one with the same tools so a rollout can move traffic to them (docs/rollout.md).
   */
  versions?: readonly string[];
  /** Create or migrate the package's own schema; runs on every start, so it must be idempotent. */
  setup?(sql: SqlClient): Promise<void>;
  createTools(context: { sql: SqlClient }): Tool[];
};

/** Tools built only to be looked at (names, schemas, data classes): any query they try is refused. */
const NO_DATABASE: SqlClient = {
  query: () => Promise.reject(new Error("these tools were built to be inspected, not run")),
  transaction: () => Promise.reject(new Error("these tools were built to be inspected, not run")),
};

/**
 * A package's tools without a database, for offline checks (`keel spec validate`, `keel policy …`): what it
 * provides and how each is declared, never to execute them.
 */
export function inspectPackageTools(agentPackage: AgentPackage): Tool[] {
  return agentPackage.createTools({ sql: NO_DATABASE });
}

/**
 * Define an agent package: its spec (a path, or a URL such as `new URL("./agent.yaml", import.meta.url)`), its
 * tools (a list, or a function of the store's SQL client for tools that keep data), and optionally the setup of its
 * own tables. Its name defaults to the name of the folder its spec is in.
 */
export function defineAgent(definition: {
  name?: string;
  spec: string | URL;
  /** Other versions' spec files served beside it, for rollouts (docs/rollout.md). */
  versions?: readonly (string | URL)[];
  tools: readonly Tool[] | ((context: { sql: SqlClient }) => Tool[]);
  setup?(sql: SqlClient): Promise<void>;
}): AgentPackage {
  const pathOf = (file: string | URL) => (file instanceof URL ? fileURLToPath(file) : resolve(file));
  const specFile = pathOf(definition.spec);
  const tools = definition.tools;
  return {
    name: definition.name ?? basename(dirname(specFile)),
    specFile,
    ...(definition.versions && definition.versions.length > 0
      ? { versions: definition.versions.map(pathOf) }
      : {}),
    ...(definition.setup ? { setup: definition.setup } : {}),
    createTools: typeof tools === "function" ? tools : () => [...tools],
  };
}

/** What a project's `keel.config.ts` exports by default: the agents `keel serve`, `keel worker` and `keel eval` load. */
export type KeelConfig = { agents: readonly AgentPackage[] };

/** Type a project's `keel.config.ts` (`export default defineConfig({ agents: [...] })`). */
export function defineConfig(config: KeelConfig): KeelConfig {
  return config;
}
