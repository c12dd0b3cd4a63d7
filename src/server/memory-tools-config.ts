import type { Registry as MetricsRegistry } from "prom-client";
import { KeelError } from "../errors/index.ts";
import { createMemoryTools, memoryMetrics } from "../memory/index.ts";
import { createOfflineTextEmbedder, createTextEmbedder, type TextEmbedder } from "../models/index.ts";
import type { AgentSpec, MemorySection } from "../spec/index.ts";
import type { SqlClient } from "../store/index.ts";
import type { Tool } from "../tools/index.ts";
import { PROVIDER_BASE_URL_VARIABLES, PROVIDER_KEY_VARIABLES } from "./provider-variables.ts";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The embedding model a memory section names: `offline` is the hashed n-gram stand-in; openai and google take their
 * key (and an optional base URL) from the same variables as their chat models; any other name is an
 * OpenAI-compatible server at its `baseUrl`. Null when the section names none.
 */
export function memoryEmbedderOf(memory: MemorySection, env: Env, file: string): TextEmbedder | null {
  const embedding = memory.embedding;
  if (!embedding) return null;
  if (embedding.provider === "offline") return createOfflineTextEmbedder();
  const hosted = PROVIDER_KEY_VARIABLES[embedding.provider];
  const keyVariable = embedding.keyEnv ?? (embedding.baseUrl === undefined ? hosted : undefined);
  const apiKey = keyVariable ? env[keyVariable] : undefined;
  if (keyVariable && !apiKey) {
    throw new KeelError(
      "invalid_spec",
      `${file}: memory.embedding uses ${embedding.provider}/${embedding.id}, but ${keyVariable} is not set`,
    );
  }
  if (!hosted && embedding.baseUrl === undefined) {
    throw new KeelError(
      "invalid_spec",
      `${file}: memory.embedding provider "${embedding.provider}" is not one Keel knows (openai, google, offline); for an OpenAI-compatible server give its baseUrl`,
    );
  }
  const baseUrl = embedding.baseUrl ?? env[PROVIDER_BASE_URL_VARIABLES[embedding.provider] ?? ""];
  return createTextEmbedder({
    provider: embedding.provider,
    model: embedding.id,
    ...(apiKey ? { apiKey } : {}),
    ...(baseUrl ? { baseUrl } : {}),
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
  inspect?: boolean;
}): Tool[] {
  const { memory } = options.spec;
  if (!memory) return [];
  return createMemoryTools({
    agent: options.spec.name,
    memory,
    guards: options.spec.guards,
    sql: options.sql,
    embedder: options.inspect ? null : memoryEmbedderOf(memory, options.env ?? {}, options.file),
    ...(options.metrics ? { metrics: memoryMetrics(options.metrics) } : {}),
  });
}
