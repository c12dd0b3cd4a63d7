// connectors/: how agents reach other systems through standard protocols — tools from MCP servers (pinned by the
// hash of their listing), HTTP APIs (declared, or operations of OpenAPI documents, behind an egress guard), remote
// A2A agents (behind the same guard) and model-written code in a bubblewrap sandbox — each bound as a Keel tool the
// runtime governs like any other.

export type { RemoteAgentResult } from "./a2a-task-result.ts";
export { bindA2aTools } from "./a2a-tools.ts";
export { bindCodeTools, type CodeToolset, probeSandbox, type SandboxAvailability } from "./code-tools.ts";
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
export {
  type CodeLanguage,
  type CodeLimit,
  type CodeLimits,
  type CodeResult,
  defaultSandboxPrograms,
  runSandboxedCode,
  runUnisolatedCode,
  type SandboxPrograms,
} from "./run-sandboxed-code.ts";
