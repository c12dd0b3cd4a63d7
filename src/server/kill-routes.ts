import type { Context, Hono } from "hono";
import { API_ROUTES, type RouteBody } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import type { KeelGovernor, KillScope } from "../governance/index.ts";
import type { AgentCatalog } from "../runtime/index.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";

/**
 * Kill switches over HTTP: `POST /v1/agents/{name}/kill` (and `/resume`), the same per tenant, and for everything.
 * A kill is in effect in this process when the response is sent — in-flight tool calls of the agent have been
 * aborted and no new action is allowed — and reaches other workers on their next refresh. Who may throw which is
 * the route declarations' business (src/api/routes.ts); the list shows a tenant the switches that stop its agents.
 */
export function registerKillRoutes(
  app: Hono,
  options: {
    governor: KeelGovernor;
    agents: AgentCatalog;
    agentTenant: (name: string) => string | undefined;
    platformTenant: string;
  },
): void {
  const { governor, agents, agentTenant, platformTenant } = options;
  const kill = async (
    context: Context,
    body: RouteBody<typeof API_ROUTES.killAll>,
    scope: KillScope,
    target: string,
  ) => {
    const record = await governor.killSwitch.kill({
      scope,
      target,
      reason: body?.reason ?? "no reason given",
      killedBy: principalOf(context).subject,
    });
    return context.json({ killed: record }, 200);
  };
  const resume = async (context: Context, scope: KillScope, target: string) => {
    const resumed = await governor.killSwitch.resume({ scope, target });
    if (!resumed) throw new KeelError("not_found", `no kill switch is thrown for ${scope} ${target}`);
    return context.json({ resumed: { scope, target } }, 200);
  };
  const agentName = (name: string) => {
    if (!agents.current(name)) throw new KeelError("not_found", `no agent named "${name}"`);
    return name;
  };

  registerRoute(app, API_ROUTES.listKillSwitches, (_, context) => {
    const { tenant } = principalOf(context);
    const applies = (record: { scope: KillScope; target: string }) =>
      tenant === platformTenant ||
      record.scope === "all" ||
      (record.scope === "tenant" && record.target === tenant) ||
      (record.scope === "agent" && agentTenant(record.target) === tenant);
    return context.json({ killSwitches: governor.killSwitch.list().filter(applies) });
  });
  registerRoute(
    app,
    API_ROUTES.killAgent,
    async ({ params, body }, context) => await kill(context, body, "agent", agentName(params.name)),
  );
  registerRoute(
    app,
    API_ROUTES.resumeAgent,
    async ({ params }, context) => await resume(context, "agent", agentName(params.name)),
  );
  registerRoute(
    app,
    API_ROUTES.killTenant,
    async ({ params, body }, context) => await kill(context, body, "tenant", params.tenant),
  );
  registerRoute(
    app,
    API_ROUTES.resumeTenant,
    async ({ params }, context) => await resume(context, "tenant", params.tenant),
  );
  registerRoute(app, API_ROUTES.killAll, async ({ body }, context) => await kill(context, body, "all", "*"));
  registerRoute(app, API_ROUTES.resumeAll, async (_, context) => await resume(context, "all", "*"));
}
