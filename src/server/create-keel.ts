import { hostname } from "node:os";
import type { Hono } from "hono";
import { Registry as MetricsRegistry } from "prom-client";
import { createApprovalTimer } from "../approvals/index.ts";
import {
  bindA2aTools,
  bindCodeTools,
  bindHttpTools,
  connectMcpTools,
  type McpToolset,
} from "../connectors/index.ts";
import {
  createRolloutController,
  type RolloutController,
  registerRolloutMetrics,
} from "../deployments/index.ts";
import { KeelError } from "../errors/index.ts";
import type { GovernedAgent, KeelGovernor } from "../governance/index.ts";
import { createSqlBudgetLedger, recordAgentTenants } from "../governance/index.ts";
import { startMemorySweep } from "../memory/index.ts";
import type { ModelGateway } from "../models/index.ts";
import { createSqlRegistry } from "../registry/index.ts";
import {
  type AgentCatalog,
  type AgentDefinition,
  type AgentPackage,
  createAgentCatalog,
  createWorker,
  inspectPackageTools,
  type StopOptions,
  type Worker,
} from "../runtime/index.ts";
import {
  type A2aSection,
  type HttpSection,
  loadAgentSpec,
  loadWorkflowSpec,
  readSpecKind,
  SpecError,
} from "../spec/index.ts";
import { createSqlMcpToolPins, type KeelStore, type Store } from "../store/index.ts";
import type { Tool } from "../tools/index.ts";
import { createAgentGovernor, governedAgentOf, reloadAgentPolicies } from "./agent-policies.ts";
import { startAuditCheckpointsFromEnv } from "./audit-checkpoints-config.ts";
import {
  bindAgentPackage,
  chooseModel,
  createEnvModelGateway,
  type ModelChoice,
} from "./bind-agent-package.ts";
import { bindWorkflowPackage } from "./bind-workflow-package.ts";
import { chatCompletionsFromEnv } from "./chat-completions-config.ts";
import { checkWorkflowAgents } from "./check-workflow-agents.ts";
import { chooseWorkflowModel } from "./choose-workflow-model.ts";
import { configureControlPlane } from "./control-plane-config.ts";
import { createApp } from "./create-app.ts";
import { startProductionSampling } from "./eval-sampling.ts";
import type { BoundAddress } from "./guard-browser-requests.ts";
import { registerServedAgents } from "./register-agents.ts";
import { createSecretScrubber } from "./scrub-secrets.ts";
import { sealingFromEnv } from "./sealing-config.ts";
import { startTracePipeline } from "./trace-pipeline.ts";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Replace the model an agent was given (a recording in evals, a test double); runs once per agent version at load.
 * `version.current` is false for the other versions a package serves beside its own spec (docs/rollout.md).
 */
export type ChooseModelOverride = (
  agent: string,
  chosen: ModelChoice,
  version: { version: string; current: boolean },
) => ModelChoice | Promise<ModelChoice>;

export type CreateKeelOptions = {
  /**
   * Where runs, their journals, the approval queue and the audit log live: `openStore()` (PGlite) or
   * `openStore({ databaseUrl })` (PostgreSQL).
   */
  store: KeelStore;
  /** The agents to run, as `defineAgent` returns them. */
  agents: readonly AgentPackage[];
  /** Keel's settings (model keys, KEEL_*); default: the process's environment. */
  env?: Env;
  /** Where Keel's log lines go, secrets scrubbed; default: standard error. */
  log?: (message: string) => void;
  /**
   * The HTTP API (default on): `host` is the address the application listens on, checked like `keel serve`'s
   * (without API keys only loopback is allowed); `address` tells the browser guard the bound port once known.
   * False for a process that only interprets runs (`keel worker`, `keel eval`).
   */
  api?:
    | false
    | {
        host?: string;
        address?: () => BoundAddress | null;
        /** Web origins besides the application's own that may send state-changing requests. */
        allowedOrigins?: readonly string[];
        bodyReadTimeoutMs?: number;
      };
  /** The in-process worker that interprets runs: its concurrency, lease and name. */
  worker?: { concurrency?: number; leaseTtlMs?: number; owner?: string };
  /** The approvals' SLA timer, audit checkpoints and the memory retention sweep (default on; `keel eval`'s scratch store has no use for them). */
  timers?: boolean;
  /** Where the embedded store keeps the key that seals masked tool-call arguments (when KEEL_SECRET_KEY is unset). */
  secretKeyFile?: string;
  /** Replace an agent's model after Keel chose it. */
  model?: ChooseModelOverride;
};

/** Keel assembled: agents bound to their models, the governor, a running worker and (unless off) the HTTP API. */
export type Keel = {
  /** The HTTP API as a standard fetch handler (Request → Response), to mount under any web framework. */
  fetch(request: Request): Promise<Response>;
  /** The HTTP API itself (null with `api: false`). */
  app: Hono | null;
  /** False in development mode (no API keys: every request is the local developer). */
  authenticated: boolean;
  agents: AgentCatalog;
  /** Deployments of the agents' versions (null with `api: false`: only the API process moves traffic). */
  rollouts: RolloutController | null;
  /** Per agent, which model it uses, said plainly. */
  modelLabels: ReadonlyMap<string, string>;
  worker: Worker;
  governor: KeelGovernor;
  /** Stop claiming runs and let those in flight finish their step (up to `graceMs`); the API keeps answering. */
  drain(options?: StopOptions): Promise<void>;
  /** Drain (if not done), then stop every timer and release what Keel holds. The store stays open: it is yours. */
  close(options?: StopOptions): Promise<void>;
};

/** Load and bind every agent package against a store: set up its tables, validate its spec, choose its model. */
export async function loadAgentPackages(options: {
  store: Store;
  packages: readonly AgentPackage[];
  env: Env;
  /** One gateway for every agent, so each target's circuit breaker sees all its traffic. */
  gateway?: ModelGateway;
  model?: ChooseModelOverride;
  /** The registry `GET /metrics` serves: the memory tools count stale knowledge on it. */
  metrics?: MetricsRegistry;
  log?: (message: string) => void;
}): Promise<{
  agents: AgentCatalog;
  modelLabels: Map<string, string>;
  governed: GovernedAgent[];
  /** Close the agents' connections to MCP servers (and stop the servers Keel started). */
  closeConnectors: () => Promise<void>;
}> {
  const toolsets: Pick<McpToolset, "close">[] = [];
  const closeConnectors = async () => {
    await Promise.all(toolsets.splice(0).map((toolset) => toolset.close()));
  };
  try {
    return { ...(await loadEach(options, toolsets)), closeConnectors };
  } catch (error) {
    await closeConnectors();
    throw error;
  }
}

async function loadEach(
  options: Parameters<typeof loadAgentPackages>[0],
  toolsets: Pick<McpToolset, "close">[],
): Promise<{ agents: AgentCatalog; modelLabels: Map<string, string>; governed: GovernedAgent[] }> {
  const definitions = [];
  const governed: GovernedAgent[] = [];
  const modelLabels = new Map<string, string>();
  for (const agentPackage of options.packages) {
    if ((await readSpecKind(agentPackage.specFile)) === "Workflow") {
      const loaded = await loadSpec(() => loadWorkflowSpec(agentPackage.specFile));
      await agentPackage.setup?.(options.store.sql);
      let choice = chooseWorkflowModel(
        loaded,
        options.env,
        options.gateway ? { gateway: options.gateway } : {},
      );
      if (options.model)
        choice = await options.model(loaded.definition.name, choice, {
          version: loaded.definition.version,
          current: true,
        });
      const connectorTools = await bindConnectorTools(loaded.file, loaded.definition, options.env);
      const bound = bindWorkflowPackage({
        agentPackage,
        loaded,
        sql: options.store.sql,
        provider: choice.provider,
        ...(connectorTools.length > 0 ? { connectorTools } : {}),
      });
      definitions.push(bound.definition);
      governed.push(bound.governed);
      modelLabels.set(bound.definition.name, choice.label);
      continue;
    }
    // The package's other versions first, its own spec last: the catalog's current version is the last listed.
    let name: string | undefined;
    for (const specFile of [...(agentPackage.versions ?? []), agentPackage.specFile]) {
      const bound = await loadAgentVersion(options, toolsets, agentPackage, specFile);
      if (name !== undefined && bound.definition.name !== name) {
        throw new KeelError(
          "invalid_spec",
          `${specFile}: a package's versions are of one agent, but this is ${bound.definition.name}, not ${name}`,
        );
      }
      name = bound.definition.name;
      definitions.push(bound.definition);
      governed.push(bound.governed);
      modelLabels.set(bound.definition.name, bound.label);
    }
    await agentPackage.setup?.(options.store.sql);
  }
  checkWorkflowAgents(definitions);
  return { agents: createAgentCatalog(definitions), modelLabels, governed };
}

/** Load one version of an agent package: validate its spec, choose its model, connect its tools and bind them. */
async function loadAgentVersion(
  options: Parameters<typeof loadAgentPackages>[0],
  toolsets: Pick<McpToolset, "close">[],
  agentPackage: AgentPackage,
  specFile: string,
): Promise<{ definition: AgentDefinition; governed: GovernedAgent; label: string }> {
  const providedTools = inspectPackageTools(agentPackage).map((tool) => tool.name);
  const loaded = await loadSpec(() => loadAgentSpec(specFile, { providedTools }));
  let choice = chooseModel(loaded, options.env, options.gateway ? { gateway: options.gateway } : {});
  if (options.model)
    choice = await options.model(loaded.spec.name, choice, {
      version: loaded.spec.version,
      current: specFile === agentPackage.specFile,
    });
  const mcp = loaded.spec.mcp
    ? await connectMcpTools({
        agent: loaded.spec.name,
        version: loaded.spec.version,
        specFile: loaded.file,
        servers: loaded.spec.mcp.servers,
        env: options.env,
        pins: createSqlMcpToolPins(options.store.sql),
        log: options.log ?? ((message) => console.error(message)),
      })
    : null;
  if (mcp) toolsets.push(mcp);
  const code = loaded.spec.code
    ? await bindCodeTools({
        specFile: loaded.file,
        section: loaded.spec.code,
        log: options.log ?? ((message) => console.error(message)),
      })
    : null;
  if (code) toolsets.push(code);
  const connectorTools = [
    ...(mcp?.tools ?? []),
    ...(await bindConnectorTools(loaded.file, loaded.spec, options.env)),
    ...(code?.tools ?? []),
  ];
  const definition = bindAgentPackage({
    agentPackage,
    loaded,
    sql: options.store.sql,
    provider: choice.provider,
    ...(connectorTools.length > 0 ? { connectorTools } : {}),
    env: options.env,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.gateway ? { gateway: options.gateway } : {}),
  });
  return { definition, governed: governedAgentOf(loaded, definition), label: choice.label };
}

/** The HTTP tools and remote A2A agents an agent's or a workflow's spec declares, bound under its egress rules. */
async function bindConnectorTools(
  specFile: string,
  sections: { http?: HttpSection | undefined; a2a?: A2aSection | undefined },
  env: Readonly<Record<string, string | undefined>>,
): Promise<Tool[]> {
  const { http, a2a } = sections;
  if (!http) return [];
  return [
    ...(await bindHttpTools({ specFile, section: http, env })),
    ...(a2a ? await bindA2aTools({ specFile, section: a2a, egress: http, env }) : []),
  ];
}

/** Load a spec file, reporting its issues (each at file:line:column) as an `invalid_spec` error. */
async function loadSpec<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof SpecError) {
      throw new KeelError("invalid_spec", error.message, {
        issues: error.issues.map((issue) => ({ ...issue })),
      });
    }
    throw error;
  }
}

/**
 * Assemble Keel: the one place that puts together the store, the model gateway, the budget ledger, the governor,
 * the agents, the worker and the HTTP API. `keel serve`, `keel worker`, `keel eval` and applications that embed Keel
 * all build on it. When a step fails, everything started before it is stopped before the error is thrown, so no
 * timer goes on polling a store the caller is about to close.
 */
export async function createKeel(options: CreateKeelOptions): Promise<Keel> {
  const started: (() => unknown)[] = [];
  try {
    return await assemble(options, started);
  } catch (error) {
    for (const stop of started.reverse()) await stopQuietly(stop);
    throw error;
  }
}

/** Stop one part of a start that failed; the error that stopped the start is the one reported. */
async function stopQuietly(stop: () => unknown): Promise<void> {
  try {
    await stop();
  } catch {
    // Already failing: a second error would hide the first.
  }
}

/** Each part that runs on its own (timers, the worker) registers how to stop it in `started`. */
async function assemble(options: CreateKeelOptions, started: (() => unknown)[]): Promise<Keel> {
  const env = options.env ?? process.env;
  const { store } = options;
  const write = options.log ?? ((message: string) => console.error(message));
  // Every log line passes the scrubber: no API key, bearer credential or configured secret is ever written.
  const scrub = createSecretScrubber(secretValues(env));
  const log = (message: string) => write(scrub(message));
  const api = options.api === false ? null : (options.api ?? {});
  const host = api?.host ?? "127.0.0.1";
  const controlPlane = api ? await configureControlPlane({ store, env, host, log }) : null;
  // The one metrics registry: every family `GET /metrics` serves registers on it, and nothing else does.
  const metrics = new MetricsRegistry();
  const gateway = createEnvModelGateway({ env, metrics });
  const ledger = createSqlBudgetLedger(store.sql);
  const { agents, modelLabels, governed, closeConnectors } = await loadAgentPackages({
    store,
    packages: options.agents,
    env,
    gateway,
    metrics,
    log,
    ...(options.model ? { model: options.model } : {}),
  });
  started.push(closeConnectors);
  if (options.timers !== false && governed.some((agent) => agent.memoryDataClasses !== undefined)) {
    started.push(startMemorySweep({ sql: store.sql, log }));
  }
  const governor = await createAgentGovernor({ store, agents: governed, log });
  started.push(() => governor.close());
  const sealing = await sealingFromEnv({ sql: store.sql, env, keyFile: options.secretKeyFile, log });
  const worker = createWorker({
    store,
    agents: agents.lookup,
    agentNamed: agents.current,
    governor,
    ...(sealing ? { sealing } : {}),
    owner: options.worker?.owner ?? `${hostname()}:${process.pid}:keel`,
    ...(options.worker?.concurrency === undefined ? {} : { concurrency: options.worker.concurrency }),
    ...(options.worker?.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.worker.leaseTtlMs }),
    log,
  });
  let app: Hono | null = null;
  let authenticated = false;
  let rollouts: RolloutController | null = null;
  // What only a process serving the API does: the registry, tenants, traces, production sampling.
  const serving: (() => Promise<unknown>)[] = [];
  if (api && controlPlane) {
    const registry = createSqlRegistry(store.sql);
    await registerServedAgents(registry, agents, governed);
    const agentTenants = await recordAgentTenants(
      store.sql,
      agents.list().map((agent) => ({ name: agent.name, tenant: agent.tenant ?? "default" })),
    );
    await registry.sweepOrphans();
    // Deployments: which version each new run gets; open canaries are judged between runs as well as after them.
    rollouts = createRolloutController({
      sql: store.sql,
      agents,
      metrics: registerRolloutMetrics(metrics),
      log,
    });
    if (options.timers !== false) {
      const stopJudging = rollouts.startTimer();
      started.push(stopJudging);
      serving.push(async () => stopJudging());
    }
    // Before serving: a bad KEEL_AUDIT_* or telemetry setting stops the start rather than half-starting.
    const telemetry = startTracePipeline({
      store,
      env,
      agents,
      gateway,
      registry: metrics,
      agentRegistry: registry,
      log,
    });
    started.push(() => telemetry.close());
    serving.push(() => telemetry.close());
    // The OpenAI-compatible endpoint counts its calls in the same GenAI metrics as agents' calls.
    const chatCompletions = chatCompletionsFromEnv({ env, gateway, ledger, metrics: telemetry.metrics, log });
    started.push(() => chatCompletions.close());
    serving.push(() => chatCompletions.close());
    app = createApp({
      rollouts,
      registry,
      requireActiveAgents: env.KEEL_REQUIRE_ACTIVE_AGENTS === "true",
      store,
      agents,
      worker,
      ...(sealing ? { sealing } : {}),
      telemetry,
      chatCompletions: chatCompletions.app,
      ...(controlPlane.auth ? { auth: controlPlane.auth } : {}),
      keys: controlPlane.keys,
      agentTenants,
      governor,
      reloadPolicies: (name) => reloadAgentPolicies({ governor, agents, packages: options.agents, name }),
      log,
      address: api.address ?? (() => null),
      ...(api.allowedOrigins ? { allowedOrigins: api.allowedOrigins } : {}),
      ...(api.bodyReadTimeoutMs === undefined ? {} : { bodyReadTimeoutMs: api.bodyReadTimeoutMs }),
    });
    authenticated = controlPlane.auth !== null;
    // Orphans are looked for at start and hourly: an owner removed through the API pauses the agent at once.
    const orphanSweep = setInterval(() => {
      registry
        .sweepOrphans()
        .catch((error: unknown) => log(`registry: sweeping orphans failed: ${String(error)}`));
    }, 3_600_000);
    orphanSweep.unref();
    started.push(() => clearInterval(orphanSweep));
    serving.push(async () => clearInterval(orphanSweep));
    const sampling = await startProductionSampling({ store, packages: options.agents, agents, log });
    if (sampling) {
      started.push(() => sampling.stop());
      serving.push(() => sampling.stop());
    }
  }
  worker.start();
  started.push(() => worker.stop());
  const timers: (() => Promise<unknown>)[] = [];
  if (options.timers !== false) {
    // Any number of processes may run the SLA timer: each expiry is journaled under the run's lease.
    const approvalTimer = createApprovalTimer({ store, log });
    approvalTimer.start();
    started.push(() => approvalTimer.stop());
    timers.push(() => approvalTimer.stop());
    const auditCheckpoints = await startAuditCheckpointsFromEnv({ sql: store.sql, env, log });
    started.push(() => auditCheckpoints.stop());
    serving.unshift(() => auditCheckpoints.stop());
  }
  let drained: Promise<void> | null = null;
  const drain = (stopOptions: StopOptions = {}) => {
    drained ??= (async () => {
      for (const stop of timers) await stop();
      await worker.stop(stopOptions);
    })();
    return drained;
  };
  const withoutApi = app === null;
  return {
    fetch: async (request) =>
      withoutApi
        ? Response.json(
            {
              error: {
                code: "not_found",
                message: "this Keel was created without its HTTP API (api: false)",
              },
            },
            { status: 404 },
          )
        : await app!.fetch(request),
    app,
    authenticated,
    agents,
    rollouts,
    modelLabels,
    worker,
    governor,
    drain,
    async close(stopOptions = {}) {
      await drain(stopOptions);
      for (const stop of serving) await stop();
      governor.close();
      await closeConnectors();
    },
  };
}

/** Values of the environment that are secrets (names ending in KEY, TOKEN, SECRET or PASSWORD, and DATABASE_URL). */
function secretValues(env: Env): string[] {
  return Object.entries(env)
    .filter(([name]) => /(KEY|TOKEN|SECRET|PASSWORD)$/.test(name) || name === "DATABASE_URL")
    .map(([, value]) => value ?? "");
}
