import type { Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import { buildShadowReport, latestShadowVersion } from "../rollout/index.ts";
import type { AgentCatalog } from "../runtime/index.ts";
import type { Store } from "../store/index.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";

/**
 * `GET /v1/agents/{name}/rollout/shadow-report`: a candidate version's shadow runs against the live runs of the
 * stable version they copied (docs/shadow.md), over the caller's tenant only. The authorization gate has already
 * answered 404 for an agent of another tenant.
 */
export function registerShadowReportRoutes(app: Hono, options: { agents: AgentCatalog; store: Store }): void {
  const { agents, store } = options;
  registerRoute(app, API_ROUTES.rolloutShadowReport, async ({ params, query }, context) => {
    const agent = agents.current(params.name);
    if (!agent) throw new KeelError("not_found", `no agent named "${params.name}"`);
    const tenant = principalOf(context).tenant;
    const candidate = query.candidate ?? (await latestShadowVersion(store.sql, agent.name, tenant));
    if (candidate === null) throw new KeelError("not_found", `agent "${agent.name}" has no shadow runs`);
    const report = await buildShadowReport({
      sql: store.sql,
      readEvents: (runId) => store.readEvents({ runId }),
      agent: agent.name,
      tenant,
      stableVersion: query.stable ?? agent.version,
      candidateVersion: candidate,
      ...(query.since === undefined ? {} : { since: query.since }),
    });
    return context.json(report);
  });
}
