import { Hono } from "hono";
import {
  API_ROUTE_LIST,
  API_ROUTES,
  type ApiRoute,
  encodeCursor,
  MAX_SEQ,
  openApiDocument,
} from "../api/index.ts";
import { explainRun } from "../approvals/index.ts";
import type { RolloutController } from "../deployments/index.ts";
import { KeelError } from "../errors/index.ts";
import type { ApiKeyStore, KeelGovernor } from "../governance/index.ts";
import type { PayloadSealer } from "../guards/index.ts";
import { type Principal, parseTraceParent, TERMINAL_STATUSES } from "../journal/index.ts";
import type { Registry } from "../registry/index.ts";
import type { AgentCatalog, Worker } from "../runtime/index.ts";
import { startRun } from "../runtime/index.ts";
import {
  createSqlMcpToolPins,
  descendantCancelRequest,
  type KeelStore,
  type RunRecord,
  type SealedArgumentsStore,
  type Store,
  sqlSessionQueries,
} from "../store/index.ts";
import { registerA2aEndpoint } from "./a2a-endpoint.ts";
import type { PolicyReload } from "./agent-policies.ts";
import { approverFromHeaders, type IdentifyApprover } from "./approval-principal.ts";
import { registerApprovalRoutes } from "./approval-routes.ts";
import { registerAuditRoutes } from "./audit-routes.ts";
import { authorizeRequests, type ControlPlaneAuth } from "./authorize-request.ts";
import { registerAutonomyRoutes } from "./autonomy-routes.ts";
import { registerBudgetRoutes } from "./budget-routes.ts";
import { checkReadiness } from "./check-readiness.ts";
import { registerConsoleRoutes } from "./console-routes.ts";
import { registerCostRoutes } from "./cost-routes.ts";
import { registerEvalRunRoutes } from "./eval-run-routes.ts";
import { registerFeedbackRoutes } from "./feedback-routes.ts";
import { type BoundAddress, guardBrowserRequests } from "./guard-browser-requests.ts";
import { chatErrorResponse, errorResponse, STORE_RETRY_AFTER_SECONDS } from "./http-error.ts";
import { KEEL_VERSION } from "./keel-version.ts";
import { registerKeyRoutes } from "./key-routes.ts";
import { registerKillRoutes } from "./kill-routes.ts";
import { registerMcpEndpoint } from "./mcp-endpoint.ts";
import { registerMcpToolRoutes } from "./mcp-tool-routes.ts";
import type { TelemetryRoutesOptions } from "./metrics-routes.ts";
import { registerMetricsRoutes } from "./metrics-routes.ts";
import { registerPolicyRoutes } from "./policy-routes.ts";
import { presentRun } from "./present-run.ts";
import { registerRoute } from "./register-route.ts";
import { registerRegistryRoutes } from "./registry-routes.ts";
import { principalOf } from "./request-principal.ts";
import { createResourceTenant } from "./resource-tenant.ts";
import { registerRolloutRoutes } from "./rollout-routes.ts";
import { registerRunTreeRoutes } from "./run-tree-routes.ts";
import { createRunnableAgent, startShadowOf } from "./runnable-agent.ts";
import { securityHeaders } from "./security-headers.ts";
import { registerSessionRoutes } from "./session-routes.ts";
import { registerShadowReportRoutes } from "./shadow-report-routes.ts";
import { streamRunEvents } from "./stream-run-events.ts";
import { registerTraceRoutes } from "./trace-routes.ts";
import { validateInput } from "./validate-input.ts";
import { validateJsonBody } from "./validate-json-body.ts";

export type AppOptions = {
  store: KeelStore;
  agents: AgentCatalog;
  /** The in-process worker, poked when a run is created and asked to cancel runs it holds. */
  worker?: Worker;
  /** The key and table that seal masked arguments (the worker's own), for edits made in the approvals inbox. */
  sealing?: { sealer: PayloadSealer; store: SealedArgumentsStore };
  /**
   * API keys, the platform tenant and the per-key rate limit. Absent: development mode, where every request acts as
   * `principal` (`keel serve` allows that only on a loopback address, see start-server.ts).
   */
  auth?: ControlPlaneAuth;
  /** The key store behind `/v1/keys` (admins manage their tenant's keys); without it those routes are absent. */
  keys?: ApiKeyStore;
  /** Who every request acts as in development mode (default: local-developer, tenant default, admin). */
  principal?: Principal;
  /** Tenants of agents this process no longer serves, so their registry entries stay with their tenant. */
  agentTenants?: ReadonlyMap<string, string>;
  /** The governor, for kill switches and policy reports; without one those routes are absent. */
  governor?: KeelGovernor;
  /** Re-read an agent's policies from disk and swap them into the governor (`keel serve` provides it). */
  reloadPolicies?: (name: string) => Promise<PolicyReload>;
  log?: (message: string) => void;
  /** The governed OpenAI-compatible endpoint (chat-completions.ts); absent when no gateway key is configured. */
  chatCompletions?: Hono;
  /** Traces, metrics, costs and search (src/telemetry/); without it those routes are absent. */
  telemetry?: TelemetryRoutesOptions;
  /**
   * Who decides an approval in development mode (default: the X-Keel-Subject/X-Keel-Roles headers); with `auth`,
   * always the API key's principal.
   */
  identifyApprover?: IdentifyApprover;
  /** Deployments: which version each new run gets, and the rollout routes; without it, the current version. */
  rollouts?: RolloutController;
  /** The agent registry, for its routes; with `requireActiveAgents`, only active versions may start runs. */
  registry?: Registry;
  requireActiveAgents?: boolean;
  /**
   * Where the server listens, for the development-mode Host check (guard-browser-requests.ts); absent in process,
   * where any loopback name passes.
   */
  address?: () => BoundAddress | null;
  /** Web origins besides the server's own that may send state-changing requests (`keel serve --allow-origin`). */
  allowedOrigins?: readonly string[];
  /** Where the built console is (default: web/dist/ in the package, console-routes.ts). */
  consoleDist?: URL;
  /** How long a request body may take to arrive (default 30 s); then 408. */
  bodyReadTimeoutMs?: number;
  /** The clock that says which UTC day's budgets are current (default: the system clock). */
  now?: () => Date;
};

/**
 * The HTTP API: agents, runs, their journals as SSE, cancel, and the route files beside this one. Every request
 * passes, in order: the security headers, the browser guard (Host and Origin), the input layer's checks of headers,
 * parameters and query fields, the authorization gate, and the input layer's check of the body, each reading the
 * route declarations (src/api/routes.ts) the handlers are registered from.
 * JSON errors follow the KeelError code table.
 */
export function createApp(options: AppOptions): Hono {
  const { store, agents, worker } = options;
  const log = options.log ?? ((message: string) => console.error(message));
  const devPrincipal = options.principal ?? {
    subject: "local-developer",
    tenant: "default",
    roles: ["admin"],
  };
  const agentTenant = (name: string): string | undefined => {
    const served = agents.current(name);
    return served ? (served.tenant ?? "default") : (options.agentTenants?.get(name) ?? "default");
  };
  const ownAgents = (tenant: string) => agents.list().filter((agent) => agentTenant(agent.name) === tenant);
  const app = new Hono();
  const sessions = sqlSessionQueries(store.sql);

  // The governed endpoint answers in OpenAI's error shape, also when the authorization gate refuses a call.
  app.onError((error, context) =>
    context.req.path.startsWith("/v1/chat/")
      ? chatErrorResponse(context, error, log)
      : errorResponse(context, error, log),
  );
  app.notFound((context) =>
    context.json(
      new KeelError("not_found", `no route ${context.req.method} ${context.req.path}`).toJSON(),
      404,
    ),
  );
  app.use("*", securityHeaders());
  app.use(
    "*",
    guardBrowserRequests({
      // With API keys a page gains nothing by reaching the server (browsers do not attach bearer keys), and the
      // names a deployment answers to are its own business: only development mode pins Host.
      checkHost: !options.auth,
      address: options.address ?? (() => null),
      allowedOrigins: options.allowedOrigins ?? [],
    }),
  );
  app.use("*", validateInput({ table: API_ROUTE_LIST }));
  app.use(
    "*",
    authorizeRequests({
      table: API_ROUTE_LIST,
      auth: options.auth ?? null,
      devPrincipal,
      resourceTenant: createResourceTenant({
        store,
        sessions,
        agentTenant,
        ...(options.keys ? { keys: options.keys } : {}),
      }),
    }),
  );
  app.use(
    "*",
    validateJsonBody(
      options.bodyReadTimeoutMs === undefined ? {} : { readTimeoutMs: options.bodyReadTimeoutMs },
    ),
  );
  // With keys, the approver is the key's principal; in development mode the request names one in headers.
  const identify: IdentifyApprover = options.auth
    ? principalOf
    : (options.identifyApprover ?? approverFromHeaders);
  const platformTenant = options.auth?.platformTenant ?? devPrincipal.tenant;

  registerRoute(app, API_ROUTES.health, (_, context) => context.json({ ok: true, store: store.kind }));
  registerRoute(app, API_ROUTES.readiness, async (_, context) => {
    const readiness = worker?.stopping
      ? { ready: false as const, reason: "the server is shutting down" }
      : await checkReadiness({ store });
    if (!readiness.ready) context.header("Retry-After", String(STORE_RETRY_AFTER_SECONDS));
    return context.json(readiness, readiness.ready ? 200 : 503);
  });
  // The routes this server answers, as they are once createApp has registered them all: public, as it describes
  // the API and no tenant's data (docs/api.md).
  let openApi: Record<string, unknown> | undefined;
  registerRoute(app, API_ROUTES.openApi, (_, context) => {
    openApi ??= openApiDocument({ routes: registeredRoutes(app) });
    return context.json(openApi);
  });
  registerConsoleRoutes(app, options.consoleDist ? { dist: options.consoleDist } : {});
  registerRoute(app, API_ROUTES.whoAmI, (_, context) => {
    const principal = principalOf(context);
    return context.json({
      subject: principal.subject,
      tenant: principal.tenant,
      roles: [...principal.roles],
      development: !options.auth,
    });
  });
  if (options.chatCompletions) app.route("/", options.chatCompletions);
  if (options.keys) {
    const verifier = options.auth?.verifier;
    registerKeyRoutes(app, {
      keys: options.keys,
      ...(verifier ? { forget: (id) => verifier.forget(id) } : {}),
    });
  }
  if (options.governor)
    registerKillRoutes(app, { governor: options.governor, agents, agentTenant, platformTenant });
  if (options.governor) {
    const reload = options.reloadPolicies;
    registerPolicyRoutes(app, {
      governor: options.governor,
      agents,
      store,
      ...(reload ? { reload } : {}),
    });
    registerAutonomyRoutes(app, { governor: options.governor, agents, store });
  }

  registerShadowReportRoutes(app, { agents, store });

  if (options.telemetry) {
    registerMetricsRoutes(app, options.telemetry);
    registerTraceRoutes(app, options.telemetry);
    registerCostRoutes(app, options.telemetry);
  }
  registerFeedbackRoutes(app, { store });
  registerEvalRunRoutes(app, { store });
  registerBudgetRoutes(app, { ownAgents, ...(options.now ? { now: options.now } : {}) });
  registerAuditRoutes(app, { audit: store });
  registerApprovalRoutes(app, {
    store,
    agents,
    ...(worker ? { worker } : {}),
    identify,
    ...(options.sealing ? { sealing: options.sealing } : {}),
  });
  if (options.registry) {
    registerRegistryRoutes(app, { registry: options.registry, store, agents, identify, agentTenant });
  }

  registerRoute(app, API_ROUTES.listAgents, (_, context) =>
    context.json({ agents: ownAgents(principalOf(context).tenant).map(presentAgent) }),
  );

  registerRoute(app, API_ROUTES.getAgent, ({ params }, context) => {
    const agent = agents.current(params.name);
    if (!agent) throw new KeelError("not_found", `no agent named "${params.name}"`);
    return context.json(presentAgent(agent));
  });

  const runnableAgent = createRunnableAgent({
    agents,
    ...(options.rollouts ? { rollouts: options.rollouts } : {}),
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.requireActiveAgents === undefined
      ? {}
      : { requireActiveAgents: options.requireActiveAgents }),
  });

  if (options.rollouts) registerRolloutRoutes(app, { rollouts: options.rollouts, agents });
  registerMcpToolRoutes(app, { pins: createSqlMcpToolPins(store.sql), agents });
  /**
   * Cancel a run and every descendant that has not ended, as `by`'s cancel; those this process's worker holds stop
   * now and journal it, each with the request the store recorded for it. Answers the run as marked.
   */
  const requestCancel = async (run: RunRecord, by: string): Promise<RunRecord> => {
    const request = { by };
    const cancelled = await store.cancelTree(run.runId, request);
    const reached = descendantCancelRequest(run.runId, request);
    let poke = false;
    for (const runId of cancelled?.marked ?? [run.runId]) {
      const recorded = runId === run.runId ? (cancelled?.run.cancelRequest ?? request) : reached;
      if (!worker?.cancel(runId, recorded)) poke = true;
    }
    if (poke) worker?.poke();
    return cancelled?.run ?? run;
  };
  /** Start a run for a protocol endpoint (MCP, A2A) as `POST /v1/agents/{name}/runs` would. */
  const startProtocolRun = async ({
    name,
    input,
    principal,
    idempotencyKey,
  }: {
    name: string;
    input: string;
    principal: Principal;
    idempotencyKey?: string;
  }) => {
    const route = await runnableAgent(name, {
      principal,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
    });
    const { run, created } = await startRun({
      store,
      agent: route.agent,
      input,
      principal,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      ...(route.rollout ? { rollout: route.rollout } : {}),
    });
    if (run.tenant !== principal.tenant)
      throw new KeelError("conflict", "this idempotency key is already used for this agent");
    await startShadowOf({ store, route, live: run, created, input, principal });
    worker?.poke();
    return run;
  };
  registerMcpEndpoint(app, {
    store,
    agentsOf: ownAgents,
    startRun: startProtocolRun,
    version: KEEL_VERSION,
    log,
  });
  registerA2aEndpoint(app, {
    store,
    agentsOf: ownAgents,
    startRun: startProtocolRun,
    cancelRun: (run, principal) => requestCancel(run, principal.subject),
    bearer: options.auth !== undefined,
  });

  registerRoute(app, API_ROUTES.createRun, async ({ params, body }, context) => {
    const route = await runnableAgent(params.name, {
      principal: principalOf(context),
      ...(body.idempotencyKey === undefined ? {} : { idempotencyKey: body.idempotencyKey }),
      ...(body.subject === undefined ? {} : { subject: body.subject }),
    });
    const { run, created } = await startRun({
      store,
      agent: route.agent,
      input: body.input,
      principal: principalOf(context),
      ...(body.idempotencyKey === undefined ? {} : { idempotencyKey: body.idempotencyKey }),
      ...(body.subject === undefined ? {} : { subject: body.subject }),
      ...(route.rollout ? { rollout: route.rollout } : {}),
      ...traceParentOf(context.req.header("traceparent")),
    });
    if (run.tenant !== principalOf(context).tenant) {
      throw new KeelError("conflict", "this idempotency key is already used for this agent");
    }
    await startShadowOf({
      store,
      route,
      live: run,
      created,
      input: body.input,
      principal: principalOf(context),
      ...(body.subject === undefined ? {} : { subject: body.subject }),
    });
    worker?.poke();
    context.header("location", `/v1/runs/${run.runId}`);
    return context.json({ ...presentRun(run), created }, created ? 202 : 200);
  });

  registerRoute(app, API_ROUTES.listRuns, async ({ query }, context) => {
    const { agent, status, limit, before, cursor, ids } = query;
    const { runs, next } = await store.listRuns({
      limit,
      tenant: principalOf(context).tenant,
      ...(ids === undefined ? {} : { ids }),
      ...(agent === undefined ? {} : { agent }),
      ...(status === undefined ? {} : { status }),
      ...(before === undefined ? {} : { before }),
      ...(cursor === undefined ? {} : { startAfter: cursor }),
    });
    return context.json({ runs: runs.map(presentRun), nextCursor: next && encodeCursor(next) });
  });

  registerRoute(app, API_ROUTES.getRun, async ({ params }, context) => {
    const run = await requireRun(store, params.id, principalOf(context).tenant);
    // A run that cannot finish (or waits for a person) explains itself: what was tried, where the request went.
    const explain = run.status !== "completed" && run.status !== "queued" && run.status !== "running";
    const explanation = explain ? explainRun(await store.readEvents({ runId: run.runId })) : null;
    // A structured answer is on the run's last event, its run-end.
    const [last] =
      run.status === "completed"
        ? await store.readEvents({ runId: run.runId, afterSeq: run.lastSeq - 1 })
        : [];
    const output = last?.type === "run-end" ? last.payload.output : undefined;
    return context.json({
      ...presentRun(run),
      ...(output === undefined ? {} : { output }),
      ...(explanation ? { explanation } : {}),
    });
  });

  registerRoute(app, API_ROUTES.runJournal, async ({ params, query }, context) => {
    const run = await requireRun(store, params.id, principalOf(context).tenant);
    const afterSeq = parseSeq(query.after, "after");
    // As stored: a run's sealed fields stay sealed here, so the hashes verify with no key (and after an erasure).
    const events = await store.readEvents({ runId: run.runId, afterSeq, limit: 10_000, asStored: true });
    return context.json({ runId: run.runId, events });
  });

  registerRoute(app, API_ROUTES.runEvents, async ({ params, query }, context) => {
    const run = await requireRun(store, params.id, principalOf(context).tenant);
    const resumeFrom = context.req.header("last-event-id") ?? query.after;
    const afterSeq = parseSeq(resumeFrom, "Last-Event-ID");
    return streamRunEvents(context, {
      store,
      runId: run.runId,
      afterSeq,
      ...(worker ? { live: worker.liveText } : {}),
      // Only a client that has seen nothing of the run is given the turn streaming now from its start.
      replay: resumeFrom === undefined,
    });
  });

  registerRoute(app, API_ROUTES.cancelRun, async ({ params }, context) => {
    const run = await requireRun(store, params.id, principalOf(context).tenant);
    if (TERMINAL_STATUSES.has(run.status)) {
      throw new KeelError("conflict", `run ${run.runId} already ended as ${run.status}`);
    }
    return context.json(presentRun(await requestCancel(run, principalOf(context).subject)), 202);
  });

  registerRunTreeRoutes(app, { store, agents, ...(worker ? { worker } : {}) });
  registerSessionRoutes(app, { store, sessions, runnableAgent, ...(worker ? { worker } : {}) });

  return app;
}

/** The declarations of the routes an app has registered: those its options turned on. */
export function registeredRoutes(app: Hono): ApiRoute[] {
  const registered = new Set(app.routes.map((route) => `${route.method} ${route.path}`));
  return API_ROUTE_LIST.filter((route) => registered.has(`${route.method} ${route.path}`));
}

/** A valid W3C `traceparent` header is journaled with the run so its trace continues the caller's; others are ignored. */
function traceParentOf(header: string | undefined): { traceparent?: string } {
  return parseTraceParent(header) && header ? { traceparent: header.trim().toLowerCase() } : {};
}

/** The run, when it exists and acts for the caller's tenant; another tenant's run is as absent as a missing one. */
async function requireRun(store: Store, runId: string, tenant: string) {
  const run = await store.getRun(runId);
  if (!run || run.tenant !== tenant) throw new KeelError("not_found", `no run "${runId}"`);
  return run;
}

function parseSeq(value: string | undefined, field: string): number {
  if (value === undefined || value === "") return 0;
  if (!/^\d{1,10}$/.test(value) || Number(value) > MAX_SEQ) {
    throw new KeelError("invalid_request", `${field} must be a non-negative event sequence number`, {
      issues: [{ path: field, message: `expected a whole number from 0 to ${MAX_SEQ}` }],
    });
  }
  return Number(value);
}

function presentAgent(agent: ReturnType<AgentCatalog["list"]>[number]) {
  return {
    name: agent.name,
    version: agent.version,
    versionHash: agent.versionHash,
    description: agent.description,
    owner: agent.owner,
    riskTier: agent.riskTier,
    model: { provider: agent.provider.provider, id: agent.provider.model, offline: agent.provider.offline },
    tools: [...agent.tools.keys()],
    limits: agent.limits,
    budgets: Object.fromEntries(
      Object.entries(agent.budgets?.limits ?? {}).flatMap(([scope, cap]) =>
        cap
          ? [
              [
                scope,
                {
                  ...(cap.usd === undefined ? {} : { usd: cap.usd }),
                  ...(cap.tokens === undefined ? {} : { tokens: cap.tokens }),
                },
              ],
            ]
          : [],
      ),
    ),
  };
}
