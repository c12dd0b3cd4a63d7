import type { KeelGovernor } from "../../src/governance/create-governor.ts";
import type { AgentCatalog } from "../../src/runtime/agent-catalog.ts";
import type { AgentPackage } from "../../src/runtime/agent-package.ts";
import { createWorker, type Worker } from "../../src/runtime/worker.ts";
import { createAgentGovernor } from "../../src/server/agent-policies.ts";
import { loadAgentPackages } from "../../src/server/create-keel.ts";
import { openStore } from "../../src/store/open-store.ts";
import type { SqlStore } from "../../src/store/sql-store.ts";

/** Agent packages served as `keel serve` binds them, offline, on an in-memory PGlite, with a worker running. */
export type ServedPackages = {
  store: SqlStore;
  agents: AgentCatalog;
  governor: KeelGovernor;
  worker: Worker;
  close(): Promise<void>;
};

/**
 * Load the packages with their governance onto a fresh in-memory store and start a worker that runs their runs,
 * including the child runs their workflows start (of any agent among the packages).
 */
export async function servePackagesOffline(
  packages: readonly AgentPackage[],
  owner: string,
): Promise<ServedPackages> {
  const store = await openStore({});
  const loaded = await loadAgentPackages({ store, packages: [...packages], env: {} });
  const governor = await createAgentGovernor({ store, agents: loaded.governed, log: () => undefined });
  const worker = createWorker({
    store,
    agents: loaded.agents.lookup,
    agentNamed: loaded.agents.current,
    governor,
    owner,
    leaseTtlMs: 5_000,
  });
  worker.start();
  return {
    store,
    agents: loaded.agents,
    governor,
    worker,
    async close() {
      await worker.stop();
      governor.close();
      await store.close();
    },
  };
}
