import type { Context, Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { approvalMetrics } from "../approvals/index.ts";
import { KeelError } from "../errors/index.ts";
import { type EvalResultStore, latestGateResult, sqlEvalResultStore } from "../evals/index.ts";
import type { AGENT_STATUSES, Registry } from "../registry/index.ts";
import { registrySummary, renderRegistryCard } from "../registry/index.ts";
import type { AgentCatalog } from "../runtime/index.ts";
import type { ApprovalQueries, Store } from "../store/index.ts";
import type { IdentifyApprover } from "./approval-principal.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";

/**
 * The agent registry over HTTP: `GET /v1/registry` (every version with status, flags, next review), metrics, one
 * agent's versions, attestations and history, its card, and the changes — attestations, status moves (activation
 * gated), reviews, incidents, owners — each naming who made it (the API key, or X-Keel-Subject in development mode).
 */
export function registerRegistryRoutes(
  app: Hono,
  options: {
    registry: Registry;
    store: Store & ApprovalQueries;
    agents: AgentCatalog;
    identify: IdentifyApprover;
    /** The tenant an agent belongs to: listings show the caller only its own tenant's agents. */
    agentTenant?: (name: string) => string | undefined;
  },
): void {
  const { registry, store, agents, identify } = options;
  const entriesOf = async (context: Context) => {
    const { tenant } = principalOf(context);
    const tenantOf = options.agentTenant ?? (() => "default");
    return (await registry.list()).filter((entry) => tenantOf(entry.agent) === tenant);
  };
  const evalResults = sqlEvalResultStore(store.sql);
  const actor = (context: Context): string => {
    const who = identify(context);
    if (!who)
      throw new KeelError(
        "unauthorized",
        "say who makes this change: set X-Keel-Subject (development mode without API keys)",
      );
    return who.subject;
  };
  const found = async (name: string, version?: string) => {
    const entry = await registry.get(name, version);
    if (!entry)
      throw new KeelError("not_found", `the registry has no ${version ? `${name}@${version}` : name}`);
    return entry;
  };

  registerRoute(app, API_ROUTES.registry, async (_, context) => {
    const entries = await entriesOf(context);
    return context.json({ agents: entries, summary: registrySummary(entries) });
  });
  registerRoute(app, API_ROUTES.registryAgent, async ({ params }, context) => {
    const name = params.agent;
    const latest = await found(name);
    return context.json({
      agent: name,
      latest,
      versions: await registry.versions(name),
      attestations: await registry.attestations(name, latest.version),
      history: await registry.history(name, 50),
    });
  });
  registerRoute(app, API_ROUTES.registryCard, async ({ params, query }, context) => {
    const name = params.agent;
    const entry = await found(name, query.version);
    const served = agents.lookup(entry.agent, entry.version);
    const section = served?.approvals;
    const stats = approvalMetrics(
      (await store.approvalStats({ tenant: principalOf(context).tenant })).filter(
        (row) => row.agent === entry.agent,
      ),
    );
    const lines = [
      `held actions go to ${section?.routeTo ?? entry.owner.team ?? "the owning team"}, SLA ${Math.round((section?.sla ?? 4 * 3_600_000) / 60_000)} min, then ${section?.onTimeout === "escalate" ? `escalated to ${section.escalateTo}` : "denied"}`,
      ...stats.byAgentTool.map(
        (row) =>
          `${row.tool ?? "handoffs"}: ${row.pending} pending, approval rate ${row.approvalRate === null ? "—" : `${Math.round(row.approvalRate * 100)}%`}, mean time to decision ${row.meanDecisionSeconds === null ? "—" : `${Math.round(row.meanDecisionSeconds)} s`}`,
      ),
    ];
    const card = renderRegistryCard(
      entry,
      await registry.attestations(entry.agent, entry.version),
      await registry.history(name, 20),
      {
        approvals: lines,
      },
    );
    return context.text(`${card}\n`);
  });
  registerRoute(app, API_ROUTES.attest, async ({ params, body }, context) => {
    const by = actor(context);
    const { agent, version } = params;
    const details =
      body.gate === "eval_results" && body.details?.score === undefined
        ? await storedEvalGate(evalResults, agent, version)
        : body.details;
    const attestation = await registry.attest({
      agent,
      version,
      gate: body.gate,
      by,
      evidence: body.evidence,
      ...(details ? { details } : {}),
    });
    return context.json(attestation, 201);
  });
  registerRoute(app, API_ROUTES.setStatus, async ({ params, body }, context) => {
    const by = actor(context);
    const entry = await registry.setStatus({
      agent: params.agent,
      version: params.version,
      status: body.status as (typeof AGENT_STATUSES)[number],
      by,
      ...(body.reason ? { reason: body.reason } : {}),
    });
    return context.json(entry);
  });
  registerRoute(app, API_ROUTES.recordReview, async ({ params, body }, context) => {
    const by = actor(context);
    return context.json(
      await registry.recordReview({
        agent: params.agent,
        version: params.version,
        by,
        evidence: body.evidence,
      }),
    );
  });
  registerRoute(app, API_ROUTES.reportIncident, async ({ params, body }, context) => {
    const by = actor(context);
    return context.json({
      versions: await registry.reportIncident({
        agent: params.agent,
        by,
        description: body.description,
      }),
    });
  });
  registerRoute(app, API_ROUTES.setOwner, async ({ params, body }, context) => {
    const by = actor(context);
    return context.json(
      await registry.setOwner({
        agent: params.agent,
        version: params.version,
        team: body.team,
        person: body.person,
        by,
      }),
    );
  });
}

/**
 * The eval gate's attestation details from the store's own gated eval runs of this version (`keel eval --gate`):
 * the lowest pass rate over its datasets and the bar it was held to. Refused when no gated run is stored or the
 * latest one of any dataset failed, so a passing score cannot be claimed without the runs behind it.
 */
async function storedEvalGate(
  results: EvalResultStore,
  agent: string,
  version: string,
): Promise<Record<string, unknown>> {
  const latest = await latestGateResult({ results, agent, version });
  if (!latest)
    throw new KeelError(
      "conflict",
      `no gated eval run of ${agent}@${version} is stored: run \`keel eval ${agent} --gate\` against this store, or attest the score and threshold of your own evaluation (details.score, details.threshold)`,
    );
  if (!latest.passed) {
    const reasons = latest.datasets.flatMap((entry) =>
      entry.reasons.map((reason) => `${entry.dataset}: ${reason}`),
    );
    throw new KeelError(
      "conflict",
      `the latest gated eval of ${agent}@${version} failed: ${reasons.join("; ")}`,
    );
  }
  return {
    score: Math.min(...latest.datasets.map((entry) => entry.passRate)),
    threshold: Math.max(...latest.datasets.map((entry) => entry.minScore ?? 0)),
    evalRuns: latest.datasets.map((entry) => entry.evalRunId),
    datasets: latest.datasets.map((entry) => entry.dataset),
  };
}
