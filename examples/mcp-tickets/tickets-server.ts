/**
 * A small MCP server over stdio, built with the official SDK: the ticket system of the `mcp-tickets` example. It
 * keeps its tickets in memory (a real one would use its own database), answers `lookup_ticket` and opens tickets
 * with `open_ticket`, at most once per idempotency key the caller puts in `requestId`.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

type Ticket = { id: string; title: string; status: "open" | "closed" };
const tickets = new Map<string, Ticket>([
  ["T-1001", { id: "T-1001", title: "VPN drops every hour", status: "open" }],
  ["T-1002", { id: "T-1002", title: "New laptop for Ana", status: "closed" }],
]);
const opened = new Map<string, Ticket>();

const server = new McpServer({ name: "tickets", version: "1.0.0" });

server.registerTool(
  "lookup_ticket",
  {
    description: "Look a ticket up by its id (T- and four digits): its title and whether it is open.",
    inputSchema: { id: z.string().regex(/^T-\d{4}$/) },
    outputSchema: { id: z.string(), title: z.string(), status: z.enum(["open", "closed"]) },
    annotations: { readOnlyHint: true },
  },
  async ({ id }) => {
    const ticket = tickets.get(id);
    if (!ticket) return { content: [{ type: "text", text: `no ticket ${id}` }], isError: true };
    return { content: [{ type: "text", text: JSON.stringify(ticket) }], structuredContent: ticket };
  },
);

server.registerTool(
  "open_ticket",
  {
    description: "Open a ticket with a short title; the same requestId again answers the ticket it opened.",
    inputSchema: { title: z.string().min(3).max(120), requestId: z.string().min(1) },
    outputSchema: { id: z.string(), title: z.string(), status: z.enum(["open", "closed"]) },
  },
  async ({ title, requestId }) => {
    let ticket = opened.get(requestId);
    if (!ticket) {
      ticket = { id: `T-${1001 + tickets.size}`, title, status: "open" };
      tickets.set(ticket.id, ticket);
      opened.set(requestId, ticket);
    }
    return { content: [{ type: "text", text: JSON.stringify(ticket) }], structuredContent: ticket };
  },
);

await server.connect(new StdioServerTransport());
