import { type AgentSpecContext, type LoadedAgentSpec, readAgentSpec } from "./read-agent-spec.ts";
import { SpecError } from "./spec-error.ts";

/**
 * Loads one agent spec: parses the YAML, validates it, reads its prompt and offline rules table, and computes
 * its version hash; given the tools its package provides, checks that it names no other. Throws a `SpecError`
 * listing every issue found, each with its file, line and column.
 */
export async function loadAgentSpec(file: string, context: AgentSpecContext = {}): Promise<LoadedAgentSpec> {
  const outcome = await readAgentSpec(file, context);
  if (!outcome.ok) throw new SpecError(outcome.issues);
  return outcome.agent;
}
