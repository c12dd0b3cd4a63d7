import { KeelError } from "../errors/keel-error.ts";
import type { ModelProvider } from "../models/model-provider.ts";
import { createRulesModelProvider } from "../models/rules-model-provider.ts";
import type { AgentDefinition } from "../runtime/agent-definition.ts";
import type { AgentPackage } from "../runtime/agent-package.ts";
import type { LoadedAgentSpec } from "../spec/read-agent-spec.ts";
import type { SqlClient } from "../store/store.ts";
import type { Tool } from "../tools/tool.ts";

/** Which environment variable carries each provider's key. */
export const PROVIDER_KEY_VARIABLES: Readonly<Record<string, string>> = {
  anthropic: "ANTHROPIC_API_KEY",
  openai: "OPENAI_API_KEY",
  google: "GOOGLE_GENERATIVE_AI_API_KEY",
};

/** How the agent's model was chosen, said plainly for the startup banner. */
export type ModelChoice = { provider: ModelProvider; label: string };

/**
 * Choose the model for a loaded spec. Real provider adapters come with the model gateway; until one is
 * available for the spec's provider, the spec's offline `rules` table stands in, labelled as such.
 */
export function chooseModel(
  loaded: LoadedAgentSpec,
  env: Readonly<Record<string, string | undefined>>,
): ModelChoice {
  const { spec } = loaded;
  const variable = PROVIDER_KEY_VARIABLES[spec.model.provider];
  const keyConfigured = variable !== undefined && Boolean(env[variable]);
  if (!loaded.rules) {
    throw new KeelError(
      "invalid_spec",
      `${loaded.file}: agent ${spec.name} names provider "${spec.model.provider}", which has no adapter in this build, and has no model.offline rules table to fall back on`,
    );
  }
  const reason = keyConfigured
    ? `${variable} is set, but this build has no ${spec.model.provider} adapter yet`
    : `no ${variable ?? `key for ${spec.model.provider}`} configured`;
  return {
    provider: createRulesModelProvider({ table: loaded.rules, model: `rules:${spec.name}` }),
    label: `rules — offline stand-in for ${spec.model.provider}/${spec.model.id} (${reason})`,
  };
}

/** Bind a loaded spec to its package's tools and a model: the definition the runtime interprets. */
export function bindAgentPackage(options: {
  agentPackage: AgentPackage;
  loaded: LoadedAgentSpec;
  sql: SqlClient;
  provider: ModelProvider;
}): AgentDefinition {
  const { loaded, agentPackage } = options;
  const { spec } = loaded;
  const available = new Map<string, Tool>(
    agentPackage.createTools({ sql: options.sql }).map((tool) => [tool.name, tool]),
  );
  const missing = spec.tools.filter((name) => !available.has(name));
  if (missing.length > 0) {
    throw new KeelError(
      "invalid_spec",
      `${loaded.file}: agent ${spec.name} lists tools its package does not provide: ${missing.join(", ")} (provided: ${[...available.keys()].join(", ")})`,
    );
  }
  return {
    name: spec.name,
    version: spec.version,
    versionHash: loaded.versionHash,
    description: spec.description,
    owner:
      spec.owner.person === undefined
        ? { team: spec.owner.team }
        : { team: spec.owner.team, person: spec.owner.person },
    riskTier: spec.riskTier,
    system: loaded.prompt,
    provider: options.provider,
    tools: new Map(spec.tools.map((name) => [name, available.get(name)!])),
    params: spec.model.params,
    limits: spec.limits,
  };
}
