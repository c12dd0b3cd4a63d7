import type { Context, Hono } from "hono";
import { z } from "zod";
import { KeelError } from "../errors/keel-error.ts";
import type { KeelGovernor } from "../governance/create-governor.ts";
import type { KillScope } from "../governance/governance-store.ts";
import type { AgentCatalog } from "../runtime/agent-catalog.ts";
import { parseBody } from "./parse-body.ts";
import { principalOf } from "./request-principal.ts";

const KillBody = z.strictObject({ reason: z.string().trim().min(1).max(500).optional() });

/**
 * Kill switches over HTTP: `POST /v1/agents/{name}/kill` (and `/resume`), the same per tenant, and for everything.
 * A kill is in effect in this process when the response is sent — in-flight tool calls of the agent have been
 * aborted and no new action is allowed — and reaches other workers on their next refresh. Who may throw which is
 * the route table's business (route-access.ts); the list shows a tenant the switches that stop its agents.
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
  const kill = async (context: Context, scope: KillScope, target: string) => {
    const body = await readOptionalBody(context);
    const record = await governor.killSwitch.kill({
      scope,
      target,
      reason: body.reason ?? "no reason given",
      killedBy: principalOf(context).subject,
    });
    return context.json({ killed: record }, 200);
  };
  const resume = async (context: Context, scope: KillScope, target: string) => {
    const resumed = await governor.killSwitch.resume({ scope, target });
    if (!resumed) throw new KeelError("not_found", `no kill switch is thrown for ${scope} ${target}`);
    return context.json({ resumed: { scope, target } }, 200);
  };
  const agentName = (context: Context) => {
    const name = context.req.param("name") ?? "";
    if (!agents.current(name)) throw new KeelError("not_found", `no agent named "${name}"`);
    return name;
  };

  app.get("/v1/kill-switches", (context) => {
    const { tenant } = principalOf(context);
    const applies = (record: { scope: KillScope; target: string }) =>
      tenant === platformTenant ||
      record.scope === "all" ||
      (record.scope === "tenant" && record.target === tenant) ||
      (record.scope === "agent" && agentTenant(record.target) === tenant);
    return context.json({ killSwitches: governor.killSwitch.list().filter(applies) });
  });
  app.post("/v1/agents/:name/kill", async (context) => await kill(context, "agent", agentName(context)));
  app.post("/v1/agents/:name/resume", async (context) => await resume(context, "agent", agentName(context)));
  app.post(
    "/v1/tenants/:tenant/kill",
    async (context) => await kill(context, "tenant", context.req.param("tenant")),
  );
  app.post(
    "/v1/tenants/:tenant/resume",
    async (context) => await resume(context, "tenant", context.req.param("tenant")),
  );
  app.post("/v1/kill", async (context) => await kill(context, "all", "*"));
  app.post("/v1/resume", async (context) => await resume(context, "all", "*"));
}

async function readOptionalBody(context: Context): Promise<z.output<typeof KillBody>> {
  const length = context.req.header("content-length");
  if (!context.req.header("content-type") && (length === undefined || length === "0")) return {};
  return await parseBody(context, KillBody);
}
