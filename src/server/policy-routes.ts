import type { Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import type { KeelGovernor } from "../governance/index.ts";
import { shadowReport } from "../governance/index.ts";
import type { AgentCatalog } from "../runtime/index.ts";
import type { Store } from "../store/index.ts";
import type { PolicyReload } from "./agent-policies.ts";
import { registerRoute } from "./register-route.ts";

/**
 * Policy reports over HTTP: `GET /v1/agents/{name}/policies` lists the policies the governor enforces (and those
 * in shadow) for the agent's current version; `…/policies/shadow-report` says what the shadow ones would have
 * changed, from the journal; `POST …/policies/reload` re-reads the policies from disk and swaps them in.
 */
export function registerPolicyRoutes(
  app: Hono,
  options: {
    governor: KeelGovernor;
    agents: AgentCatalog;
    store: Store;
    /** Re-read an agent's policies from disk and swap them in; absent, there is no reload route. */
    reload?: (name: string) => Promise<PolicyReload>;
  },
): void {
  const { governor, agents, store, reload } = options;
  const requireAgent = (name: string) => {
    const agent = agents.current(name);
    if (!agent) throw new KeelError("not_found", `no agent named "${name}"`);
    return agent;
  };
  registerRoute(app, API_ROUTES.agentPolicies, ({ params }, context) => {
    const agent = requireAgent(params.name);
    const loaded = governor.loaded(agent.name, agent.version);
    if (!loaded)
      throw new KeelError("not_found", `the governor has not loaded ${agent.name}@${agent.version}`);
    return context.json({
      agent: agent.name,
      version: agent.version,
      generation: loaded.generation,
      policies: [...loaded.info.values()].map((info) => ({
        id: info.id,
        effect: info.review ? "review" : info.effect,
        mode: info.mode,
        source: info.source,
        reason: info.reason,
      })),
    });
  });
  if (reload) {
    registerRoute(app, API_ROUTES.reloadPolicies, async ({ params }, context) =>
      context.json(await reload(requireAgent(params.name).name)),
    );
  }
  registerRoute(app, API_ROUTES.shadowReport, async ({ params }, context) => {
    const agent = requireAgent(params.name);
    return context.json(await shadowReport(store.sql, agent.name));
  });
}
