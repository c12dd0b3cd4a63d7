import type { Registry as MetricsRegistry } from "prom-client";
import { KeelError } from "../errors/index.ts";
import { createMemoryTools, memoryMetrics } from "../memory/index.ts";
import {
  createGatewayTextEmbedder,
  createOfflineTextEmbedder,
  type ModelGateway,
  type TargetRef,
  type TextEmbedder,
} from "../models/index.ts";
import type { AgentSpec, MemorySection } from "../spec/index.ts";
import type { SqlClient } from "../store/index.ts";
import type { Tool } from "../tools/index.ts";
import { createEnvModelGateway, envEmbeddingTarget } from "./env-model-gateway.ts";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The embedding model a memory section names: `offline` is the hashed n-gram stand-in; any other is called through
 * the model gateway (the process's, or one made from `env`), with its fallbacks: openai and google take their key
 * (and an optional base URL) from the same variables as their chat models; any other name is an OpenAI-compatible
 * server at its `baseUrl`. Null when the section names none. Problems a target has are reported now, naming it.
 */
export function memoryEmbedderOf(
  memory: MemorySection,
  env: Env,
  file: string,
  options: { gateway?: ModelGateway; caller?: string } = {},
): TextEmbedder | null {
  const embedding = memory.embedding;
  if (!embedding) return null;
  if (embedding.provider === "offline") return createOfflineTextEmbedder();
  const targets: TargetRef[] = [embedding, ...(embedding.fallbacks ?? [])].map((target, index) => {
    const field = index === 0 ? "memory.embedding" : `memory.embedding.fallbacks[${index - 1}]`;
    if (target.provider === "offline") {
      throw new KeelError("invalid_spec", `${file}: ${field}: the offline stand-in cannot be a fallback`);
    }
    const ref: TargetRef = {
      provider: target.provider,
      model: target.id,
      ...(target.baseUrl !== undefined || target.keyEnv !== undefined
        ? {
            endpoint: {
              ...(target.baseUrl === undefined ? {} : { baseUrl: target.baseUrl }),
              ...(target.keyEnv === undefined ? {} : { keyEnv: target.keyEnv }),
            },
          }
        : {}),
    };
    try {
      // Resolved once here so a missing key or an unknown provider is reported at load, naming the field.
      envEmbeddingTarget(ref, env);
    } catch (error) {
      throw new KeelError(
        "invalid_spec",
        `${file}: ${field} uses ${target.provider}/${target.id}, but ${(error as Error).message}`,
      );
    }
    return ref;
  });
  return createGatewayTextEmbedder({
    gateway: options.gateway ?? createEnvModelGateway({ env }),
    targets,
    caller: options.caller ?? "memory",
  });
}

/**
 * The built-in memory tools a spec enables (none without a `memory` section). `inspect` builds them only to read
 * their names, schemas and data classes (no embedding model is resolved).
 */
export function memoryToolsOf(options: {
  spec: AgentSpec;
  file: string;
  sql: SqlClient;
  env?: Env;
  metrics?: MetricsRegistry;
  /** The process's model gateway, which the embedding model's calls go through (default: one made from `env`). */
  gateway?: ModelGateway;
  inspect?: boolean;
}): Tool[] {
  const { memory } = options.spec;
  if (!memory) return [];
  return createMemoryTools({
    agent: options.spec.name,
    memory,
    guards: options.spec.guards,
    sql: options.sql,
    embedder: options.inspect
      ? null
      : memoryEmbedderOf(memory, options.env ?? {}, options.file, {
          caller: options.spec.name,
          ...(options.gateway ? { gateway: options.gateway } : {}),
        }),
    ...(options.metrics ? { metrics: memoryMetrics(options.metrics) } : {}),
  });
}
