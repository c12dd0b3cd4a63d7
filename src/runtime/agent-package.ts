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
