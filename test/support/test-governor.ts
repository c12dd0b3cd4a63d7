import { createGovernor, type KeelGovernor } from "../../src/governance/create-governor.ts";
import type { GovernanceStore } from "../../src/governance/governance-store.ts";
import type { GovernedPolicyFile } from "../../src/governance/governed-agent.ts";
import { createMemoryGovernanceStore } from "../../src/governance/memory-governance-store.ts";
import type { AgentDefinition } from "../../src/runtime/agent-definition.ts";
import { governedTools } from "../../src/runtime/governed-tools.ts";
import { GovernanceSection, type GovernanceSectionInput } from "../../src/spec/governance-section.ts";

/** Governance that lets an agent call every tool it has without review: what most runtime tests want. */
export function permitAllTools(agent: AgentDefinition): GovernanceSectionInput {
  const tools = [...agent.tools.keys()];
  return {
    allowedTools: tools,
    decisionAuthority: { autonomous: tools },
    dataAccess: { allowPii: true, allowFinancial: true },
  };
}

/**
 * A governor for test agents, loaded with each agent's governance (by default every tool autonomous). Pass
 * `governance: null` for an agent with no policies at all.
 */
export async function testGovernor(
  agents: readonly AgentDefinition[],
  options: {
    governance?: GovernanceSectionInput | null | ((agent: AgentDefinition) => GovernanceSectionInput | null);
    policyFiles?: GovernedPolicyFile[];
    store?: GovernanceStore;
    now?: () => number;
  } = {},
): Promise<KeelGovernor> {
  const governor = createGovernor({
    store: options.store ?? createMemoryGovernanceStore(),
    ...(options.now ? { now: options.now } : {}),
  });
  for (const agent of agents) {
    const chosen =
      typeof options.governance === "function"
        ? options.governance(agent)
        : options.governance === undefined
          ? permitAllTools(agent)
          : options.governance;
    await governor.load({
      name: agent.name,
      version: agent.version,
      governance: chosen === null ? undefined : GovernanceSection.parse(chosen),
      tools: governedTools(agent.tools.values()),
      policyFiles: options.policyFiles ?? [],
    });
  }
  return governor;
}
