import type { Registry as MetricsRegistry } from "prom-client";
import { KeelError } from "../errors/index.ts";
import { createSqlBudgetLedger } from "../governance/index.ts";
import type { ModelErrorClass, ModelProvider } from "../models/index.ts";
import {
  classifierPolicy,
  createRulesModelProvider,
  type ModelGateway,
  type ModelPolicy,
  routedModelProvider,
  type TargetRef,
} from "../models/index.ts";
import { type AgentDefinition, type AgentPackage, modelDetectorsOf } from "../runtime/index.ts";
import type { AgentSpec, LoadedAgentSpec } from "../spec/index.ts";
import type { SqlClient } from "../store/index.ts";
import {
  checkWorkingMemorySchema,
  createUpdateWorkingMemoryTool,
  type Tool,
  UPDATE_WORKING_MEMORY,
} from "../tools/index.ts";
import { createEnvModelGateway, missingKey } from "./env-model-gateway.ts";
import { memoryToolsOf } from "./memory-tools-config.ts";
import { PROVIDER_BASE_URL_VARIABLES, PROVIDER_KEY_VARIABLES } from "./provider-variables.ts";

export { createEnvModelGateway, missingKey, PROVIDER_BASE_URL_VARIABLES, PROVIDER_KEY_VARIABLES };

type Env = Readonly<Record<string, string | undefined>>;

/** How the agent's model was chosen, said plainly for the startup banner. */
export type ModelChoice = { provider: ModelProvider; label: string };

/** The gateway policy a spec's model section declares (an agent's, or a workflow's, which has no `offline`). */
export function modelPolicyOf(spec: { model: Omit<AgentSpec["model"], "offline"> }): ModelPolicy {
  const model = spec.model;
  const ref = (target: {
    provider: string;
    id: string;
    baseUrl?: string | undefined;
    keyEnv?: string | undefined;
    selfHosted?: boolean | undefined;
  }): TargetRef => {
    const endpoint = {
      ...(target.baseUrl === undefined ? {} : { baseUrl: target.baseUrl }),
      ...(target.keyEnv === undefined ? {} : { keyEnv: target.keyEnv }),
      ...(target.selfHosted === undefined ? {} : { selfHosted: target.selfHosted }),
    };
    return {
      provider: target.provider,
      model: target.id,
      ...(Object.keys(endpoint).length > 0 ? { endpoint } : {}),
    };
  };
  return {
    primary: ref(model),
    fallbacks: model.fallbacks.map((fallback) => ({
      ...ref(fallback),
      ...(fallback.on ? { on: fallback.on as ModelErrorClass[] } : {}),
    })),
    rules: model.routing.map((rule, index) => ({
      name: rule.name ?? `routing[${index}]`,
      when: {
        ...(rule.when.phase === undefined
          ? {}
          : { phase: Array.isArray(rule.when.phase) ? rule.when.phase : [rule.when.phase] }),
        ...(rule.when.minInputTokens === undefined ? {} : { minInputTokens: rule.when.minInputTokens }),
        ...(rule.when.maxInputTokens === undefined ? {} : { maxInputTokens: rule.when.maxInputTokens }),
        ...(rule.when.tags === undefined ? {} : { tags: rule.when.tags }),
      },
      use: ref(rule.use),
    })),
    ...(model.classifier
      ? {
          classifier: classifierPolicy({
            examples: model.classifier.examples,
            routes: Object.fromEntries(
              Object.entries(model.classifier.routes).map(([label, target]) => [label, ref(target)]),
            ),
            minConfidence: model.classifier.minConfidence,
          }),
        }
      : {}),
    ...(model.cascade
      ? {
          cascade: {
            tiers: model.cascade.tiers.map(ref),
            escalateOn: {
              invalidOutput: model.cascade.escalateOn.invalidOutput,
              truncated: model.cascade.escalateOn.truncated,
              lowConfidence: model.cascade.escalateOn.lowConfidence
                ? new RegExp(model.cascade.escalateOn.lowConfidence, "i")
                : null,
            },
          },
        }
      : {}),
    ...(model.cache.response ? { responseCacheTtlMs: model.cache.response.ttl } : {}),
    promptCaching: model.cache.prompt,
  };
}

/** Every model a policy may call. */
function targetsOf(policy: ModelPolicy): TargetRef[] {
  return [
    policy.primary,
    ...policy.fallbacks,
    ...policy.rules.map((rule) => rule.use),
    ...Object.values(policy.classifier?.routes ?? {}),
    ...(policy.cascade?.tiers ?? []),
  ];
}

/**
 * Choose the model for a loaded spec. With the provider's key set, the agent calls it through the gateway
 * (fallbacks, routing, cascade, caches). Without it, the spec's offline `rules` table stands in, labelled as
 * such; with no table either, startup stops with a message naming the variable to set.
 */
export function chooseModel(
  loaded: LoadedAgentSpec,
  env: Env,
  options: { gateway?: ModelGateway } = {},
): ModelChoice {
  const { spec } = loaded;
  const offline = spec.model.provider === "rules" || spec.model.provider === "scripted";
  const policy = modelPolicyOf(spec);
  const primaryMissing = offline ? "offline" : missingKey(policy.primary, env);
  if (primaryMissing !== null) {
    if (!loaded.rules) {
      throw new KeelError(
        "invalid_spec",
        offline
          ? `${loaded.file}: agent ${spec.name} names provider "${spec.model.provider}" but has no model.offline rules table`
          : `agent ${spec.name} uses ${spec.model.provider}/${spec.model.id}, but ${primaryMissing} is not set. Set ${primaryMissing} to your ${spec.model.provider} API key, or give the agent a model.offline rules table (${loaded.file}) to run offline.`,
      );
    }
    const reason = offline ? "the spec asks for the rules engine" : `${primaryMissing} is not set`;
    return {
      provider: createRulesModelProvider({ table: loaded.rules, model: `rules:${spec.name}` }),
      label: `rules — offline stand-in for ${spec.model.provider}/${spec.model.id} (${reason})`,
    };
  }
  const missing = [...new Set(targetsOf(policy).flatMap((ref) => missingKey(ref, env) ?? []))];
  if (missing.length > 0) {
    throw new KeelError(
      "invalid_spec",
      `agent ${spec.name} routes to models whose keys are not set: ${missing.join(", ")}. Set them, or remove those models from ${loaded.file}.`,
    );
  }
  const gateway = options.gateway ?? createEnvModelGateway({ env });
  const fallbacks = policy.fallbacks.map((ref) => `${ref.provider}/${ref.model}`);
  return {
    provider: routedModelProvider({ gateway, policy, agent: spec.name }),
    label: `${spec.model.provider}/${spec.model.id} through the gateway${fallbacks.length > 0 ? `, fallbacks ${fallbacks.join(", ")}` : ""}`,
  };
}

/** Bind a loaded spec to its package's tools and a model: the definition the runtime interprets. */
export function bindAgentPackage(options: {
  agentPackage: AgentPackage;
  loaded: LoadedAgentSpec;
  sql: SqlClient;
  provider: ModelProvider;
  /** Tools from the agent's connectors (its MCP servers' tools), bound already. */
  connectorTools?: readonly Tool[];
  /** Where the built-in memory tools' embedding model finds its key (default: none). */
  env?: Env;
  metrics?: MetricsRegistry;
  /** The process's model gateway: the memory tools' embedding calls go through it. */
  gateway?: ModelGateway;
}): AgentDefinition {
  const { loaded, agentPackage } = options;
  const { spec } = loaded;
  const builtIn = memoryToolsOf({
    spec,
    file: loaded.file,
    sql: options.sql,
    ...(options.env ? { env: options.env } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.gateway ? { gateway: options.gateway } : {}),
  });
  const available = new Map<string, Tool>(
    [...agentPackage.createTools({ sql: options.sql }), ...builtIn, ...(options.connectorTools ?? [])].map(
      (tool) => [tool.name, tool],
    ),
  );
  if (spec.workingMemory) {
    // The built-in tool that updates a session's working memory, checked against the spec's schema.
    const problem = checkWorkingMemorySchema(spec.workingMemory.schema);
    if (problem !== null) {
      throw new KeelError(
        "invalid_spec",
        `${loaded.file}: agent ${spec.name}'s workingMemory.schema is not a JSON Schema Keel can check against: ${problem}`,
      );
    }
    available.set(UPDATE_WORKING_MEMORY, createUpdateWorkingMemoryTool(spec.workingMemory.schema));
  }
  const detectors = spec.guards.injection.detectors;
  if (detectors.length > 0 && !options.gateway) {
    throw new KeelError(
      "invalid_spec",
      `${loaded.file}: agent ${spec.name}'s guards.injection.detectors call models through the gateway, and this process has none`,
    );
  }
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
    tenant: spec.tenant,
    system: loaded.prompt,
    provider: options.provider,
    tools: new Map(spec.tools.map((name) => [name, available.get(name)!])),
    params: spec.model.params,
    limits: spec.limits,
    context: spec.context,
    ...(spec.workingMemory ? { workingMemory: { schema: spec.workingMemory.schema } } : {}),
    // Bound even without caps of its own: run as a workflow's child, the agent's calls count against its tree's.
    budgets: { ledger: createSqlBudgetLedger(options.sql), limits: spec.budgets ?? {} },
    ...(spec.approvals ? { approvals: spec.approvals } : {}),
    guards: spec.guards,
    ...(detectors.length > 0 && options.gateway
      ? {
          injectionDetectors: modelDetectorsOf({
            detectors,
            gateway: options.gateway,
            agent: spec.name,
            tenant: spec.tenant,
          }),
        }
      : {}),
    rollout: spec.rollout,
    ...(spec.output && loaded.outputSchema
      ? { output: { schema: loaded.outputSchema, maxRetries: spec.output.maxRetries } }
      : {}),
  };
}
