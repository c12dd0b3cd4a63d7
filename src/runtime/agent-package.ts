import type { SqlClient } from "../store/store.ts";
import type { Tool } from "../tools/tool.ts";

/** How an agent ships: its spec file, the tools it needs, and an optional setup of its own tables. */
export type AgentPackage = {
  name: string;
  /** Absolute path of the agent's `agent.yaml`. */
  specFile: string;
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
