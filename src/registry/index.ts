/**
 * The agent registry and lifecycle: per agent version its owner, risk tier and scope, its status from draft to
 * retired, the deployment gates attested for it, its review cadence, orphan detection, and the one-page card.
 */

export {
  AGENT_STATUSES,
  type AgentStatus,
  activationBlockers,
  GATES,
  type Gate,
  requiredGates,
  reviewCadenceDays,
} from "./lifecycle-rules.ts";
export { type CardExtras, renderRegistryCard } from "./registry-card.ts";
export type {
  AgentScope,
  Attestation,
  HistoryEntry,
  RegisterAgentVersion,
  RegistryEntry,
} from "./registry-entry.ts";
export { scopeOf } from "./registry-entry.ts";
export { registerRegistryMetrics, registrySummary } from "./registry-metrics.ts";
export { createSqlRegistry, type Registry } from "./sql-registry.ts";
