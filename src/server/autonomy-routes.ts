import type { Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import type { KeelGovernor } from "../governance/index.ts";
import { proposeAutonomy, readApprovalHistory } from "../rollout/index.ts";
import type { AgentCatalog } from "../runtime/index.ts";
import type { Store } from "../store/index.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";

/**
 * `GET /v1/agents/{name}/autonomy`: from the caller's tenant's approval history of the agent, the classes of held
 * calls with their evidence and the proposed changes to the governance section the governor enforces now. It only
 * reads: a proposal reaches the spec when a person applies it and deploys the version.
 */
export function registerAutonomyRoutes(
  app: Hono,
  options: { governor: KeelGovernor; agents: AgentCatalog; store: Store },
): void {
  const { governor, agents, store } = options;
  registerRoute(app, API_ROUTES.agentAutonomy, async ({ params }, context) => {
    const agent = agents.current(params.name);
    if (!agent) throw new KeelError("not_found", `no agent named "${params.name}"`);
    const loaded = governor.loaded(agent.name, agent.version);
    if (!loaded)
      throw new KeelError("not_found", `the governor has not loaded ${agent.name}@${agent.version}`);
    const history = await readApprovalHistory(store.sql, {
      agent: agent.name,
      tenant: principalOf(context).tenant,
    });
    return context.json(
      proposeAutonomy({ agent: agent.name, version: agent.version, governance: loaded.governance, history }),
    );
  });
}
