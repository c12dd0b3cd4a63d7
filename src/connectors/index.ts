// connectors/: how agents reach other systems through standard protocols — tools from MCP servers (pinned by
// the hash of their listing), HTTP APIs (declared, or operations of OpenAPI documents, behind an egress guard) and remote A2A agents (behind the same guard) — each bound as a Keel tool the runtime governs like any other.

export type { RemoteAgentResult } from "./a2a-task-result.ts";
export { bindA2aTools } from "./a2a-tools.ts";
export {
  checkEgress,
  type EgressRules,
  egressRequest,
  nonPublicAddress,
  type Resolve,
  type ResolvedAddress,
} from "./http-egress.ts";
export { bindHttpTools } from "./http-tools.ts";
export {
  connectMcpTools,
  type McpToolDefinition,
  type McpToolset,
  mcpToolDefinition,
  mcpToolHash,
  mcpToolSuspicion,
} from "./mcp-tools.ts";
