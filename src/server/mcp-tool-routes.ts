import type { Hono } from "hono";
import { API_ROUTES } from "../api/index.ts";
import { KeelError } from "../errors/index.ts";
import type { AgentCatalog } from "../runtime/index.ts";
import type { McpToolPin, McpToolPins } from "../store/index.ts";
import { registerRoute } from "./register-route.ts";
import { principalOf } from "./request-principal.ts";

/**
 * An agent's MCP tools over HTTP: what each server showed against what a person approved
 * (`GET /v1/agents/{name}/mcp-tools`), and the approval of the listing a tool shows now, named by its hash
 * (`POST …/mcp-tools/{server}/{tool}/approval`), after which calls to it go out again — in every process, since
 * each checks the store before a call.
 */
export function registerMcpToolRoutes(app: Hono, options: { pins: McpToolPins; agents: AgentCatalog }): void {
  const agentNamed = (name: string) => {
    const agent = options.agents.current(name);
    if (!agent) throw new KeelError("not_found", `no agent named "${name}"`);
    return agent;
  };
  registerRoute(app, API_ROUTES.listMcpTools, async ({ params }, context) => {
    const agent = agentNamed(params.name);
    const pins = await options.pins.list(agent.name);
    return context.json({ agent: agent.name, tools: pins.map(presentPin) });
  });
  registerRoute(app, API_ROUTES.approveMcpTool, async ({ params, body }, context) => {
    const agent = agentNamed(params.name);
    const pin = await options.pins.approve({
      agent: agent.name,
      server: params.server,
      tool: params.tool,
      hash: body.hash,
      by: principalOf(context).subject,
    });
    return context.json(presentPin(pin));
  });
}

function presentPin(pin: McpToolPin) {
  return {
    server: pin.server,
    tool: pin.tool,
    status: pin.refusal === null ? ("approved" as const) : ("refused" as const),
    refusal: pin.refusal,
    approvedHash: pin.approvedHash,
    approvedBy: pin.approvedBy,
    approvedAt: pin.approvedAt,
    approvedDefinition: pin.approvedDefinition,
    seenHash: pin.seenHash,
    seenAt: pin.seenAt,
    seenDefinition: pin.seenDefinition,
  };
}
