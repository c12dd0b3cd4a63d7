import type { Registry as MetricsRegistry } from "prom-client";
import { KeelError } from "../errors/index.ts";
import {
  type ClassificationTarget,
  createAnthropicModelProvider,
  createClassificationAdapter,
  createEmbeddingAdapter,
  createGoogleModelProvider,
  createModelGateway,
  createOpenAICompatibleModelProvider,
  createOpenAIModelProvider,
  createPriceTable,
  type EmbeddingTarget,
  type ModelGateway,
  type ModelTarget,
  type PriceOverrides,
  type TargetRef,
} from "../models/index.ts";
import { PROVIDER_BASE_URL_VARIABLES, PROVIDER_KEY_VARIABLES } from "./provider-variables.ts";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The gateway for this process: adapters built on demand from the keys in `env`. One gateway serves every
 * agent and the governed endpoint, so a target's circuit breaker sees all of its traffic.
 */
export function createEnvModelGateway(options: {
  env: Env;
  priceOverrides?: PriceOverrides;
  fetch?: typeof globalThis.fetch;
  /** The metrics registry `GET /metrics` serves (the composition root's). */
  metrics?: MetricsRegistry;
}): ModelGateway {
  const { env } = options;
  return createModelGateway({
    ...(options.metrics ? { metrics: options.metrics } : {}),
    priceTable: createPriceTable(options.priceOverrides ? { overrides: options.priceOverrides } : {}),
    resolveTarget(ref): ModelTarget {
      const missing = missingKey(ref, env);
      if (missing)
        throw new KeelError("unavailable", `${ref.provider}/${ref.model} needs ${missing}, which is not set`);
      const fetchOption = options.fetch ? { fetch: options.fetch } : {};
      const hosted = PROVIDER_KEY_VARIABLES[ref.provider];
      const baseUrl = ref.endpoint?.baseUrl ?? env[PROVIDER_BASE_URL_VARIABLES[ref.provider] ?? ""];
      const urlOption = baseUrl ? { baseUrl } : {};
      if (ref.endpoint?.baseUrl === undefined && hosted) {
        const apiKey = env[hosted]!;
        const common = { model: ref.model, apiKey, ...urlOption, ...fetchOption };
        const adapter =
          ref.provider === "anthropic"
            ? createAnthropicModelProvider(common)
            : ref.provider === "openai"
              ? createOpenAIModelProvider(common)
              : createGoogleModelProvider(common);
        return { adapter, keyId: hosted, ...(ref.endpoint?.selfHosted ? { selfHosted: true } : {}) };
      }
      if (!ref.endpoint?.baseUrl) {
        throw new KeelError(
          "invalid_spec",
          `provider "${ref.provider}" is not one Keel knows (${Object.keys(PROVIDER_KEY_VARIABLES).join(", ")}); for an OpenAI-compatible server give its baseUrl`,
        );
      }
      const keyEnv = ref.endpoint.keyEnv;
      const apiKey = keyEnv ? env[keyEnv] : undefined;
      return {
        adapter: createOpenAICompatibleModelProvider({
          provider: ref.provider,
          model: ref.model,
          baseUrl: ref.endpoint.baseUrl,
          ...(apiKey ? { apiKey } : {}),
          ...fetchOption,
        }),
        keyId: keyEnv ?? `${ref.provider}@${ref.endpoint.baseUrl}`,
        selfHosted: ref.endpoint.selfHosted ?? true,
      };
    },
    resolveEmbeddingTarget: (ref) => envEmbeddingTarget(ref, env, options.fetch),
    resolveClassificationTarget: (ref) => envClassificationTarget(ref, env, options.fetch),
  });
}

/**
 * A text-classification model (a guard's injection classifier) as the environment configures it: always a server at
 * its `baseUrl`, its key (if any) in the variable `keyEnv` names; self-hosted (priced at 0) unless it says otherwise.
 */
export function envClassificationTarget(
  ref: TargetRef,
  env: Env,
  fetch?: typeof globalThis.fetch,
): ClassificationTarget {
  const baseUrl = ref.endpoint?.baseUrl;
  if (baseUrl === undefined) {
    throw new KeelError("invalid_spec", `classifier ${ref.provider}/${ref.model} needs a baseUrl`);
  }
  const keyEnv = ref.endpoint?.keyEnv;
  const apiKey = keyEnv ? env[keyEnv] : undefined;
  if (keyEnv && !apiKey) throw new KeelError("unavailable", `${keyEnv} is not set`);
  return {
    adapter: createClassificationAdapter({
      provider: ref.provider,
      model: ref.model,
      baseUrl,
      ...(apiKey ? { apiKey } : {}),
      ...(fetch ? { fetch } : {}),
    }),
    keyId: `${keyEnv ?? ref.provider}@${baseUrl}`,
    selfHosted: ref.endpoint?.selfHosted ?? true,
  };
}

/**
 * An embedding model as the environment configures it: openai and google take their key (and an optional base
 * URL) from the same variables as their chat models unless the target names its own `keyEnv` or server; any other
 * provider is an OpenAI-compatible server at its `baseUrl`, self-hosted unless it says otherwise.
 */
export function envEmbeddingTarget(
  ref: TargetRef,
  env: Env,
  fetch?: typeof globalThis.fetch,
): EmbeddingTarget {
  const hosted = PROVIDER_KEY_VARIABLES[ref.provider];
  const explicitUrl = ref.endpoint?.baseUrl;
  const keyVariable = ref.endpoint?.keyEnv ?? (explicitUrl === undefined ? hosted : undefined);
  const apiKey = keyVariable ? env[keyVariable] : undefined;
  if (keyVariable && !apiKey) {
    throw new KeelError("unavailable", `${keyVariable} is not set`);
  }
  const baseUrl = explicitUrl ?? env[PROVIDER_BASE_URL_VARIABLES[ref.provider] ?? ""];
  if (!hosted && baseUrl === undefined) {
    throw new KeelError(
      "invalid_spec",
      `provider "${ref.provider}" is not one Keel knows (openai, google, offline); for an OpenAI-compatible server give its baseUrl`,
    );
  }
  return {
    adapter: createEmbeddingAdapter({
      provider: ref.provider,
      model: ref.model,
      ...(apiKey ? { apiKey } : {}),
      ...(baseUrl ? { baseUrl } : {}),
      ...(fetch ? { fetch } : {}),
    }),
    // The server is part of the identity: the same model on two servers has two breakers, so one can stand in.
    keyId: `${keyVariable ?? ref.provider}@${baseUrl ?? "default"}`,
    selfHosted: ref.endpoint?.selfHosted ?? !hosted,
  };
}

/** The environment variable a target needs and lacks, or null. */
export function missingKey(ref: TargetRef, env: Env): string | null {
  if (ref.endpoint?.baseUrl) {
    const keyEnv = ref.endpoint.keyEnv;
    return keyEnv && !env[keyEnv] ? keyEnv : null;
  }
  const variable = PROVIDER_KEY_VARIABLES[ref.provider];
  if (!variable) return null;
  return env[variable] ? null : variable;
}
