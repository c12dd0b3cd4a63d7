import { KeelError } from "../errors/index.ts";
import type { GovernedAgent } from "../governance/index.ts";
import { createGovernor, createSqlGovernanceStore, type KeelGovernor } from "../governance/index.ts";
import type { AgentCatalog, AgentDefinition, AgentPackage } from "../runtime/index.ts";
import { governedTools } from "../runtime/index.ts";
import type { LoadedAgentSpec } from "../spec/index.ts";
import { loadAgentSpec, readSpecKind, SpecError } from "../spec/index.ts";
import type { Store } from "../store/index.ts";

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
    ...(loaded.spec.memory?.longTerm ? { memoryDataClasses: loaded.spec.memory.longTerm.dataClasses } : {}),
    taintGate: loaded.spec.guards.toolResults.taint,
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

/** What a policy reload did. */
export type PolicyReload = { agent: string; version: string; policies: number; generation: number };

/**
 * Re-read an agent's spec and Cedar files from disk and swap the governor's policies for its current version in
 * one step: decisions already being made finish on the old sets, the next ones use the new. The spec on disk
 * must still be the version being served; a new version is deployed, not reloaded.
 */
export async function reloadAgentPolicies(options: {
  governor: KeelGovernor;
  agents: AgentCatalog;
  packages: readonly AgentPackage[];
  name: string;
}): Promise<PolicyReload> {
  const definition = options.agents.current(options.name);
  if (!definition) throw new KeelError("not_found", `no agent named "${options.name}"`);
  if (definition.workflow) {
    throw new KeelError(
      "conflict",
      `${options.name} is a workflow: its governance is part of its version, so deploy a new version to change it`,
    );
  }
  let found: LoadedAgentSpec | null = null;
  for (const agentPackage of options.packages) {
    if ((await readSpecKind(agentPackage.specFile)) === "Workflow") continue;
    const loaded = await loadAgentSpec(agentPackage.specFile).catch((error: unknown) => {
      if (error instanceof SpecError) {
        throw new KeelError("invalid_spec", error.message, {
          issues: error.issues.map((issue) => ({ ...issue })),
        });
      }
      throw error;
    });
    if (loaded.spec.name === options.name) found = loaded;
  }
  if (!found) throw new KeelError("not_found", `no package provides agent "${options.name}"`);
  if (found.spec.version !== definition.version) {
    throw new KeelError(
      "conflict",
      `the spec on disk is ${options.name}@${found.spec.version} but ${definition.version} is served; deploy the new version instead of reloading`,
    );
  }
  try {
    await options.governor.load(governedAgentOf(found, definition));
  } catch (error) {
    throw new KeelError(
      "invalid_spec",
      `the policies did not load, so the old ones stay: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const loaded = options.governor.loaded(definition.name, definition.version)!;
  return {
    agent: definition.name,
    version: definition.version,
    policies: loaded.enforcedCount,
    generation: loaded.generation,
  };
}
