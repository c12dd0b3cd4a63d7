/**
 * The governor: identity, policy (Cedar), decision authority, rate limits, data classes and the kill switch —
 * decided before every action a run takes. Any error inside is a deny, and every decision carries its reasons.
 */
export { AgentIdentities } from "./agent-identities.ts";
export { type ApiKeyVerifier, createApiKeyVerifier } from "./api-key-verifier.ts";
export {
  type BudgetAlert,
  type BudgetCounter,
  type BudgetLedger,
  type BudgetLimits,
  budgetCounters,
  describeRefusal,
  type ModelCallRecord,
} from "./budget-ledger.ts";
export { createSqlBudgetLedger } from "./budget-ledger-sql.ts";
export { RevocationList } from "./capability-tokens.ts";
export { cedarVersion, createCedarPolicyEngine } from "./cedar-policy-engine.ts";
export { generateCedarSchema } from "./cedar-schema.ts";
export { type CompiledPolicies, compileAgentPolicies, type PolicyInfo } from "./compile-agent-policies.ts";
export { CONTROL_PLANE_ROLES, type ControlPlaneRole, validateTenant } from "./control-plane-roles.ts";
export { createGovernor, type GovernorOptions, type KeelGovernor } from "./create-governor.ts";
export type { GovernanceStore, KillRecord, KillScope } from "./governance-store.ts";
export type { GovernedAgent, GovernedPolicyFile, GovernedTool, TaintGate } from "./governed-agent.ts";
export type {
  ActionKind,
  ActionRequest,
  CapabilityBinding,
  CapabilityCheck,
  ContextTaint,
  DecisionStage,
  DenyCode,
  Governor,
  InFlightAction,
  PolicyDecision,
  ShadowOutcome,
} from "./governor.ts";
export { describeKill, KilledError, KillSwitch } from "./kill-switch.ts";
export { createMemoryGovernanceStore } from "./memory-governance-store.ts";
export type { PolicyEngine } from "./policy-engine.ts";
export { type PolicyTestResult, runPolicyTests } from "./run-policy-tests.ts";
export { type ShadowReport, shadowReport } from "./shadow-report.ts";
export { recordAgentTenants } from "./sql-agent-tenants.ts";
export { type ApiKeyRecord, type ApiKeyStore, createSqlApiKeyStore } from "./sql-api-key-store.ts";
export { createSqlGovernanceStore } from "./sql-governance-store.ts";
export { type PolicyValidation, validateAgentPolicies } from "./validate-agent-policies.ts";
