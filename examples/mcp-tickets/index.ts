/**
 * The mcp-tickets example: an agent whose tools all come from an MCP server (`tickets-server.ts`, started over
 * stdio when the agent loads). Serve it with `npx keel serve --packages examples/mcp-tickets/index.ts`.
 */
import { join } from "node:path";
import type { AgentPackage } from "../../src/runtime/agent-package.ts";

export const ticketDesk = {
  name: "ticket-desk",
  specFile: join(import.meta.dirname, "agent.yaml"),
  createTools: () => [],
} satisfies AgentPackage;

export const agentPackages: AgentPackage[] = [ticketDesk];
