import { hostname } from "node:os";
import { type ServerType, serve } from "@hono/node-server";
import type { Hono } from "hono";
import { Registry as MetricsRegistry } from "prom-client";
import { createApprovalTimer } from "../approvals/expire-approvals.ts";
import { KeelError } from "../errors/keel-error.ts";
import { createSqlBudgetLedger } from "../governance/budget-ledger-sql.ts";
import type { KeelGovernor } from "../governance/create-governor.ts";
import type { GovernedAgent } from "../governance/governed-agent.ts";
import { recordAgentTenants } from "../governance/sql-agent-tenants.ts";
import type { ModelGateway } from "../models/model-gateway.ts";
import { createSqlRegistry } from "../registry/sql-registry.ts";
import { type AgentCatalog, createAgentCatalog } from "../runtime/agent-catalog.ts";
import { type AgentPackage, inspectPackageTools } from "../runtime/agent-package.ts";
import { createWorker, type StopOptions, type Worker } from "../runtime/worker.ts";
import { loadAgentSpec } from "../spec/load-agent-spec.ts";
import { SpecError } from "../spec/spec-error.ts";
import type { Store } from "../store/store.ts";
import { createAgentGovernor, governedAgentOf, reloadAgentPolicies } from "./agent-policies.ts";
import { startAuditCheckpointsFromEnv } from "./audit-checkpoints-config.ts";
import { bindAgentPackage, chooseModel, createEnvModelGateway } from "./bind-agent-package.ts";
import { chatCompletionsFromEnv } from "./chat-completions-config.ts";
import { configureControlPlane } from "./control-plane-config.ts";
import { createApp } from "./create-app.ts";
import { startProductionSampling } from "./eval-sampling.ts";
import type { BoundAddress } from "./guard-browser-requests.ts";
import { type HttpTimeouts, resolveHttpTimeouts } from "./http-timeouts.ts";
import { registerServedAgents } from "./register-agents.ts";
import { createSecretScrubber } from "./scrub-secrets.ts";
import { sealingFromEnv } from "./sealing-config.ts";
import { startTracePipeline } from "./trace-pipeline.ts";

export type ServerOptions = {
  store: Store;
  packages: readonly AgentPackage[];
  env: Readonly<Record<string, string | undefined>>;
  host: string;
  port: number;
  leaseTtlMs?: number;
  log?: (message: string) => void;
  /** Where the embedded store keeps the key that seals masked tool-call arguments (when KEEL_SECRET_KEY is unset). */
  secretKeyFile?: string;
  /** Web origins besides the server's own that may send state-changing requests (`--allow-origin`). */
  allowedOrigins?: readonly string[];
  /** How long slow clients may take (http-timeouts.ts); the defaults suit production. */
  timeouts?: HttpTimeouts;
};

export type RunningServer = {
  url: string;
  /** The HTTP API itself, for in-process requests and for listing its routes. */
  app: Hono;
  /** False in development mode (no API keys: every request is the local developer). */
  authenticated: boolean;
  agents: AgentCatalog;
  /** Per agent, which model it uses, said plainly. */
  modelLabels: ReadonlyMap<string, string>;
  worker: Worker;
  governor: KeelGovernor;
  /**
   * Drain and stop: no new claims, runs finish the step they are in (for up to `graceMs`, default 0) and their
   * leases are released so another worker resumes them at once; then the HTTP server closes.
   */
  close(options?: StopOptions): Promise<void>;
};

/** Load and bind every agent package against a store: set up its tables, validate its spec, choose its model. */
export async function loadAgentPackages(options: {
  store: Store;
  packages: readonly AgentPackage[];
  env: Readonly<Record<string, string | undefined>>;
  /** One gateway for every agent, so each target's circuit breaker sees all its traffic. */
  gateway?: ModelGateway;
}): Promise<{ agents: AgentCatalog; modelLabels: Map<string, string>; governed: GovernedAgent[] }> {
  const definitions = [];
  const governed: GovernedAgent[] = [];
  const modelLabels = new Map<string, string>();
  for (const agentPackage of options.packages) {
    let loaded: Awaited<ReturnType<typeof loadAgentSpec>>;
    try {
      const providedTools = inspectPackageTools(agentPackage).map((tool) => tool.name);
      loaded = await loadAgentSpec(agentPackage.specFile, { providedTools });
    } catch (error) {
      if (error instanceof SpecError) {
        throw new KeelError("invalid_spec", error.message, {
          issues: error.issues.map((issue) => ({ ...issue })),
        });
      }
      throw error;
    }
    await agentPackage.setup?.(options.store.sql);
    const choice = chooseModel(loaded, options.env, options.gateway ? { gateway: options.gateway } : {});
    const definition = bindAgentPackage({
      agentPackage,
      loaded,
      sql: options.store.sql,
      provider: choice.provider,
    });
    definitions.push(definition);
    governed.push(governedAgentOf(loaded, definition));
    modelLabels.set(loaded.spec.name, choice.label);
  }
  return { agents: createAgentCatalog(definitions), modelLabels, governed };
}

/**
 * The `keel serve` composition: agents, an in-process worker and the HTTP API on one store. Authentication is
 * decided first (control-plane-config.ts): without API keys it refuses any address but loopback. When a step
 * fails (a port in use, a bad setting), everything started before it is stopped before the error is thrown, so
 * no timer goes on polling a store the caller is about to close.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const started: (() => unknown)[] = [];
  try {
    return await composeServer(options, started);
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

/** Each part that runs on its own (timers, the worker, the listener) registers how to stop it in `started`. */
async function composeServer(options: ServerOptions, started: (() => unknown)[]): Promise<RunningServer> {
  const write = options.log ?? ((message: string) => console.error(message));
  // Every log line passes the scrubber: no API key, bearer credential or configured secret is ever written.
  const scrub = createSecretScrubber(secretValues(options.env));
  const log = (message: string) => write(scrub(message));
  const controlPlane = await configureControlPlane({
    store: options.store,
    env: options.env,
    host: options.host,
    log,
  });
  // The one metrics registry: every family `GET /metrics` serves registers on it, and nothing else does.
  const metrics = new MetricsRegistry();
  const gateway = createEnvModelGateway({ env: options.env, metrics });
  const ledger = createSqlBudgetLedger(options.store.sql);
  const chatCompletions = chatCompletionsFromEnv({ env: options.env, gateway, ledger, log });
  started.push(() => chatCompletions.close());
  const { agents, modelLabels, governed } = await loadAgentPackages({ ...options, gateway });
  const governor = await createAgentGovernor({ store: options.store, agents: governed, log });
  started.push(() => governor.close());
  const registry = createSqlRegistry(options.store.sql);
  await registerServedAgents(registry, agents, governed);
  const agentTenants = await recordAgentTenants(
    options.store.sql,
    agents.list().map((agent) => ({ name: agent.name, tenant: agent.tenant ?? "default" })),
  );
  await registry.sweepOrphans();
  const sealing = await sealingFromEnv({
    sql: options.store.sql,
    env: options.env,
    keyFile: options.secretKeyFile,
    log,
  });
  const worker = createWorker({
    store: options.store,
    agents: agents.lookup,
    governor,
    ...(sealing ? { sealing } : {}),
    owner: `${hostname()}:${process.pid}:serve`,
    ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
    log,
  });
  // Before listening: a bad KEEL_AUDIT_* setting stops the start rather than leaving a server without checkpoints.
  const telemetry = startTracePipeline({
    store: options.store,
    env: options.env,
    agents,
    gateway,
    registry: metrics,
    agentRegistry: registry,
    log,
  });
  started.push(() => telemetry.close());
  const { serverOptions, bodyReadTimeoutMs } = resolveHttpTimeouts(options.timeouts);
  let bound: BoundAddress | null = null;
  const app = createApp({
    registry,
    requireActiveAgents: options.env.KEEL_REQUIRE_ACTIVE_AGENTS === "true",
    store: options.store,
    agents,
    worker,
    ...(sealing ? { sealing } : {}),
    telemetry,
    chatCompletions: chatCompletions.app,
    ...(controlPlane.auth ? { auth: controlPlane.auth } : {}),
    keys: controlPlane.keys,
    agentTenants,
    governor,
    reloadPolicies: (name) => reloadAgentPolicies({ governor, agents, packages: options.packages, name }),
    log,
    address: () => bound,
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
    bodyReadTimeoutMs,
  });
  const server = await new Promise<ServerType>((resolve, reject) => {
    const created = serve(
      { fetch: app.fetch, hostname: options.host, port: options.port, serverOptions },
      () => resolve(created),
    );
    created.once("error", reject);
  });
  const listening = server.address();
  bound = {
    host: options.host,
    port: typeof listening === "object" && listening ? listening.port : options.port,
  };
  started.push(() => new Promise((resolve) => server.close(resolve)));
  worker.start();
  started.push(() => worker.stop());
  const approvalTimer = createApprovalTimer({ store: options.store, log });
  approvalTimer.start();
  started.push(() => approvalTimer.stop());
  const auditCheckpoints = await startAuditCheckpointsFromEnv({
    sql: options.store.sql,
    env: options.env,
    log,
  });
  started.push(() => auditCheckpoints.stop());
  // Orphans are looked for at start and hourly: an owner removed through the API pauses the agent at once.
  const orphanSweep = setInterval(() => {
    registry
      .sweepOrphans()
      .catch((error: unknown) => log(`registry: sweeping orphans failed: ${String(error)}`));
  }, 3_600_000);
  orphanSweep.unref();
  started.push(() => clearInterval(orphanSweep));
  const sampling = await startProductionSampling({
    store: options.store,
    packages: options.packages,
    agents,
    log,
  });
  return {
    url: `http://${options.host}:${bound.port}`,
    app,
    authenticated: controlPlane.auth !== null,
    agents,
    modelLabels,
    worker,
    governor,
    async close(closeOptions = {}) {
      clearInterval(orphanSweep);
      await approvalTimer.stop();
      // The API keeps answering while runs drain (/readyz says it is shutting down), so clients can follow them.
      await worker.stop(closeOptions);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ("closeAllConnections" in server) server.closeAllConnections();
      });
      await auditCheckpoints.stop();
      await sampling?.stop();
      await telemetry.close();
      await chatCompletions.close();
      governor.close();
    },
  };
}

/** Values of the environment that are secrets (names ending in KEY, TOKEN, SECRET or PASSWORD, and DATABASE_URL). */
function secretValues(env: Readonly<Record<string, string | undefined>>): string[] {
  return Object.entries(env)
    .filter(([name]) => /(KEY|TOKEN|SECRET|PASSWORD)$/.test(name) || name === "DATABASE_URL")
    .map(([, value]) => value ?? "");
}
