import type { AgentDefinition, AgentLookup } from "./agent-definition.ts";

/**
 * The agent versions this process serves: the current version of each by name (the package's own spec, listed
 * last), every version by id, and every version of a name (a package's candidate versions beside its current one).
 */
export type AgentCatalog = {
  list(): AgentDefinition[];
  current(name: string): AgentDefinition | undefined;
  lookup: AgentLookup;
  /** Every served version of the agent, in the order they were loaded (the current one last). */
  versions(name: string): AgentDefinition[];
};

/** Build a catalog; an agent listed twice under the same version is a configuration error. */
export function createAgentCatalog(definitions: readonly AgentDefinition[]): AgentCatalog {
  const byName = new Map<string, AgentDefinition>();
  const byVersion = new Map<string, AgentDefinition>();
  for (const definition of definitions) {
    const key = `${definition.name}@${definition.version}`;
    if (byVersion.has(key)) throw new Error(`agent ${key} is defined twice`);
    byVersion.set(key, definition);
    byName.set(definition.name, definition);
  }
  return {
    list: () => [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)),
    current: (name) => byName.get(name),
    lookup: (name, version) => byVersion.get(`${name}@${version}`),
    versions: (name) => definitions.filter((definition) => definition.name === name),
  };
}
