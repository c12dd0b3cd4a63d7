// connectors/: how agents reach other systems — MCP servers' tools (pinned by the hash of their listing), HTTP APIs
// (behind an egress guard), model-written code in a bubblewrap sandbox — each a Keel tool governed like any other.

export { bindCodeTools, type CodeToolset, probeSandbox, type SandboxAvailability } from "./code-tools.ts";
export {
  checkEgress,
  type EgressRules,
  egressRequest,
  hostAllowed,
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
