// connectors/: how agents reach other systems through standard protocols — tools from MCP servers (pinned by
// the hash of their listing) — each bound as a Keel tool the runtime governs like any other.
export {
  connectMcpTools,
  type McpToolDefinition,
  type McpToolset,
  mcpToolDefinition,
  mcpToolHash,
  mcpToolSuspicion,
} from "./mcp-tools.ts";
