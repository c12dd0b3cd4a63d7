import { createGovernor, type KeelGovernor } from "../governance/create-governor.ts";
import type { GovernedAgent } from "../governance/governed-agent.ts";
import { createSqlGovernanceStore } from "../governance/sql-governance-store.ts";
import type { AgentDefinition } from "../runtime/agent-definition.ts";
import { governedTools } from "../runtime/governed-tools.ts";
import type { LoadedAgentSpec } from "../spec/read-agent-spec.ts";
import type { Store } from "../store/store.ts";

/** What the governor needs of a loaded agent version: its governance section, its bound tools, its Cedar files. */
export function governedAgentOf(loaded: LoadedAgentSpec, definition: AgentDefinition): GovernedAgent {
  return {
    name: definition.name,
    version: definition.version,
    governance: loaded.spec.governance,
    tools: governedTools(definition.tools.values()),
    policyFiles: loaded.policies.map((policy) => ({
      path: policy.path,
      text: policy.text,
      mode: policy.mode,
    })),
  };
}

/**
 * The governor of a composition root: its state in the run store's database (identities, kill switches,
 * revocations, rate-limit buckets), every agent version's policies loaded, and its refresh loop started so kills
 * and revocations from other processes reach it.
 */
export async function createAgentGovernor(options: {
  store: Store;
  agents: readonly GovernedAgent[];
  log?: (message: string) => void;
}): Promise<KeelGovernor> {
  const governor = createGovernor({
    store: createSqlGovernanceStore(options.store.sql),
    ...(options.log ? { log: options.log } : {}),
  });
  for (const agent of options.agents) await governor.load(agent);
  await governor.refresh();
  governor.start();
  return governor;
}
