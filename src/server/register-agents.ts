import type { GovernedAgent } from "../governance/index.ts";
import type { Registry } from "../registry/index.ts";
import { type RegistryEntry, scopeOf } from "../registry/index.ts";
import type { AgentCatalog } from "../runtime/index.ts";

/**
 * Record every served agent version in the registry (a new one starts as a draft), with its owner and risk tier
 * from the spec and its scope from the spec's data access and the tools' declarations.
 */
export async function registerServedAgents(
  registry: Registry,
  agents: AgentCatalog,
  governed: readonly GovernedAgent[],
): Promise<RegistryEntry[]> {
  const entries: RegistryEntry[] = [];
  // Every version served, not only the current one: a candidate is registered (with its spec hash) before it serves,
  // after the current one, so the registry compares the candidate's scope with the current version's.
  const served = agents
    .list()
    .flatMap((current) => [current, ...agents.versions(current.name).filter((each) => each !== current)]);
  for (const agent of served) {
    const governance = governed.find((each) => each.name === agent.name && each.version === agent.version);
    entries.push(
      await registry.register({
        agent: agent.name,
        version: agent.version,
        specHash: agent.versionHash,
        description: agent.description,
        owner: { team: agent.owner.team || null, person: agent.owner.person ?? null },
        riskTier: agent.riskTier,
        scope: scopeOf({
          tools: governance?.tools ?? [...agent.tools.values()],
          dataAccess: governance?.governance?.dataAccess,
        }),
      }),
    );
  }
  return entries;
}
