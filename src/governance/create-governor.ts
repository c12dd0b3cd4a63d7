import { createHash } from "node:crypto";
import { canonicalJson } from "../journal/index.ts";
import { AgentIdentities } from "./agent-identities.ts";
import { issueCapability, RevocationList, verifyCapability } from "./capability-tokens.ts";
import { createCedarPolicyEngine } from "./cedar-policy-engine.ts";
import { checkActionRequest } from "./check-action-request.ts";
import { buildPolicyQuestion, evaluatePolicies, type PolicyOutcome } from "./evaluate-policies.ts";
import type { GovernanceStore } from "./governance-store.ts";
import type { GovernedAgent } from "./governed-agent.ts";
import type {
  ActionRequest,
  DecisionStage,
  DenyCode,
  Governor,
  PolicyDecision,
  ShadowOutcome,
} from "./governor.ts";
import { describeKill, KillSwitch } from "./kill-switch.ts";
import { type LoadedAgent, loadGovernedAgent } from "./load-governed-agent.ts";
import type { PolicyEngine } from "./policy-engine.ts";
import { takeRateLimits } from "./rate-limits.ts";
import { applyTaintGate } from "./taint-gate.ts";

/** Arguments larger than this (canonical JSON, bytes) are denied before any policy sees them. */
export const DEFAULT_MAX_ARGUMENT_BYTES = 64 * 1024;

export type GovernorOptions = {
  store: GovernanceStore;
  engine?: PolicyEngine;
  now?: () => number;
  maxArgumentBytes?: number;
  /** How often kill switches and revocations are re-read from the store once `start` was called. */
  refreshMs?: number;
  /** Past this long without a successful refresh (once started), every action is denied. */
  maxStalenessMs?: number;
  /** A rate-limit store that does not answer within this long is treated as down: the call is denied. */
  rateLimitTimeoutMs?: number;
  log?: (message: string) => void;
};

/** The governor with its operations: loading agent versions, kill switches, revocations, the refresh loop. */
export type KeelGovernor = Governor & {
  /** Compile and load an agent version's policies; loading it again swaps them atomically (a reload). */
  load(agent: GovernedAgent): Promise<void>;
  loaded(name: string, version: string): LoadedAgent | undefined;
  readonly killSwitch: KillSwitch;
  readonly revocations: RevocationList;
  readonly identities: AgentIdentities;
  /** Re-read kill switches and revocations from the store. */
  refresh(): Promise<void>;
  start(): void;
  close(): void;
};

/**
 * The governor: every boundary-crossing action passes kill switch → identity and scope → Cedar policy → rate
 * limit → capability token, in that order. Any error inside is a deny with its reason; nothing throws.
 */
export function createGovernor(options: GovernorOptions): KeelGovernor {
  const { store } = options;
  const engine = options.engine ?? createCedarPolicyEngine();
  const now = options.now ?? Date.now;
  const maxArgumentBytes = options.maxArgumentBytes ?? DEFAULT_MAX_ARGUMENT_BYTES;
  const refreshMs = options.refreshMs ?? 1_000;
  const maxStalenessMs = options.maxStalenessMs ?? 30_000;
  const rateLimitTimeoutMs = options.rateLimitTimeoutMs ?? 2_000;
  const log = options.log ?? ((message: string) => console.error(message));
  const agents = new Map<string, LoadedAgent>();
  const killSwitch = new KillSwitch({ store, now });
  const revocations = new RevocationList({ store });
  const identities = new AgentIdentities({ store });
  let generation = 0;
  let timer: NodeJS.Timeout | null = null;

  const deny = (
    stage: DecisionStage,
    code: DenyCode,
    reasons: string[],
    policies: string[] = [],
  ): PolicyDecision => ({
    decision: "deny",
    code,
    stage,
    reasons,
    policies,
  });

  async function decideUnsafe(request: ActionRequest, signal: AbortSignal): Promise<PolicyDecision> {
    if (signal.aborted) return deny("internal", "aborted", ["the action was aborted before it was decided"]);
    const malformed = checkActionRequest(request);
    if (malformed) return deny("identity", malformed.code, [malformed.reason]);
    if (timer !== null && killSwitch.staleness() > maxStalenessMs) {
      return deny("kill-switch", "kill_switch_unavailable", [
        `the kill switches could not be read for ${Math.round(killSwitch.staleness() / 1000)} s, so nothing is allowed`,
      ]);
    }
    const killed = killSwitch.check(request.agent.name, request.principal.tenant, request.ancestors);
    if (killed) return deny("kill-switch", "killed", [describeKill(killed)]);

    const agent = agents.get(`${request.agent.name}@${request.agent.version}`);
    if (!agent) {
      return deny("identity", "unknown_agent", [
        `agent ${request.agent.name}@${request.agent.version} is not loaded by this governor`,
      ]);
    }
    const identity = identities.get(agent.name, agent.version);
    if (!identity)
      return deny("identity", "no_identity", [
        `agent ${agent.name}@${agent.version} has no service identity`,
      ]);
    if (agent.enforcedCount === 0) {
      return deny("policy", "no_policies", [
        `agent ${agent.name}@${agent.version} has no policies, so nothing is permitted`,
      ]);
    }

    let tool = null;
    let checkedArguments: unknown = null;
    if (request.kind === "tool-call") {
      const call = request.tool!;
      tool = agent.tools.get(call.name) ?? null;
      if (!tool)
        return deny("identity", "unknown_tool", [`agent ${agent.name} has no tool named "${call.name}"`]);
      const canonical = canonicalJson(call.arguments);
      const bytes = Buffer.byteLength(canonical);
      if (bytes > maxArgumentBytes) {
        return deny("identity", "oversized_arguments", [
          `the arguments are ${bytes} bytes; at most ${maxArgumentBytes} are allowed`,
        ]);
      }
      if (createHash("sha256").update(canonical).digest("hex") !== call.argumentsHash) {
        return deny("identity", "arguments_hash_mismatch", [
          "the arguments do not match the hash they were proposed with",
        ]);
      }
      const checked = tool.checkArguments(call.arguments);
      if (!checked.ok)
        return deny("identity", "invalid_arguments", [
          `invalid arguments for ${tool.name}: ${checked.message}`,
        ]);
      checkedArguments = checked.value;
    }

    const question = buildPolicyQuestion(agent, request, tool, checkedArguments);
    const outcome = approvedReview(
      applyTaintGate(
        evaluatePolicies(engine, agent, agent.enforce, question, request.principal),
        agent,
        tool,
        request,
      ),
      request,
    );
    const shadow = agent.shadow
      ? shadowOutcome(outcome, () =>
          applyTaintGate(
            evaluatePolicies(engine, agent, agent.shadow!, question, request.principal),
            agent,
            tool,
            request,
          ),
        )
      : undefined;
    const withShadow = <T extends PolicyDecision>(decision: T): T =>
      shadow ? { ...decision, shadow } : decision;

    switch (outcome.decision) {
      case "deny":
        return withShadow(deny("policy", outcome.code, outcome.reasons, outcome.policies));
      case "review":
        return withShadow({
          decision: "review",
          stage: "policy",
          reasons: outcome.reasons,
          policies: outcome.policies,
        });
      case "allow":
        break;
      default: {
        const unreachable: never = outcome;
        throw new Error(`unknown policy outcome ${JSON.stringify(unreachable)}`);
      }
    }

    if (request.kind !== "tool-call" || !tool) {
      return withShadow({
        decision: "allow",
        stage: "policy",
        reasons: outcome.reasons,
        policies: outcome.policies,
      });
    }
    const call = request.tool!;
    let limited: Awaited<ReturnType<typeof takeRateLimits>> = null;
    try {
      // A retry of a started call counted against the limits when it started (invariant 1); a shadowed call never
      // runs, so it must not spend the live runs' tokens.
      if (!request.retry && !request.shadowed)
        limited = await takeRateLimits({
          store,
          rules: agent.rateRules,
          agent: agent.name,
          tool: tool.name,
          principal: request.principal,
          now: now(),
          timeoutMs: rateLimitTimeoutMs,
        });
    } catch (error) {
      return withShadow(
        deny("rate-limit", "rate_limit_unavailable", [
          `the rate limits could not be checked: ${errorText(error)}`,
        ]),
      );
    }
    if (limited) {
      return withShadow(
        deny(
          "rate-limit",
          "rate_limited",
          [
            `${tool.name} is over its rate limit (${limited.rule}); retry in ${Math.ceil(limited.retryAfterMs / 1000)} s`,
          ],
          [limited.rule],
        ),
      );
    }
    if (request.shadowed) {
      return withShadow({
        decision: "allow",
        stage: "policy",
        reasons: outcome.reasons,
        policies: outcome.policies,
      });
    }
    const capability = await issueCapability({
      identity,
      principal: request.principal,
      runId: request.runId,
      tool: tool.name,
      callId: call.callId,
      argumentsHash: call.argumentsHash,
      ttlMs: agent.capabilityTtlMs,
      now: now(),
    });
    // A kill thrown while the rate limit or the signature was awaited still wins.
    if (signal.aborted) return deny("internal", "aborted", ["the action was aborted while it was decided"]);
    const killedLate = killSwitch.check(request.agent.name, request.principal.tenant, request.ancestors);
    if (killedLate) return deny("kill-switch", "killed", [describeKill(killedLate)]);
    return withShadow({
      decision: "allow",
      stage: "policy",
      reasons: outcome.reasons,
      policies: outcome.policies,
      capability: capability.token,
      capabilityId: capability.id,
      inFlight: killSwitch.track(request.agent.name, request.principal.tenant, request.ancestors),
    });
  }

  function shadowOutcome(enforced: PolicyOutcome, evaluate: () => PolicyOutcome): ShadowOutcome | undefined {
    let shadow: PolicyOutcome;
    try {
      shadow = evaluate();
    } catch (error) {
      shadow = { decision: "deny", code: "policy_error", policies: [], reasons: [errorText(error)] };
    }
    if (shadow.decision === enforced.decision && sameMembers(shadow.policies, enforced.policies))
      return undefined;
    return { decision: shadow.decision, policies: shadow.policies, reasons: shadow.reasons };
  }

  const governor: KeelGovernor = {
    async decide(request, { signal }) {
      try {
        return await decideUnsafe(request, signal);
      } catch (error) {
        return deny("internal", "internal_error", [
          `the governor failed, so the action is denied: ${errorText(error)}`,
        ]);
      }
    },
    async verifyCapability(token, binding) {
      return await verifyCapability(token, binding, { identities, revocations, now: now() });
    },
    async load(agent) {
      generation += 1;
      const loaded = loadGovernedAgent(engine, agent, generation);
      await identities.ensure(agent.name, agent.version);
      // The swap: decisions already running keep the set they started with; the next one sees the new set.
      agents.set(`${agent.name}@${agent.version}`, loaded);
    },
    loaded: (name, version) => agents.get(`${name}@${version}`),
    killSwitch,
    revocations,
    identities,
    async refresh() {
      await Promise.all([killSwitch.refresh(), revocations.refresh()]);
    },
    start() {
      if (timer) return;
      timer = setInterval(() => {
        governor
          .refresh()
          .catch((error: unknown) => log(`governor: refreshing kill switches failed: ${errorText(error)}`));
      }, refreshMs);
      timer.unref();
      void governor
        .refresh()
        .catch((error: unknown) => log(`governor: reading kill switches failed: ${errorText(error)}`));
    },
    close() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
  return governor;
}

/**
 * A review a person already settled: the journal's approval binds to these exact arguments, so the call is
 * allowed and the reasons say by whom. Any other outcome stands as it is.
 */
function approvedReview(outcome: PolicyOutcome, request: ActionRequest): PolicyOutcome {
  const approval = request.approval;
  if (outcome.decision !== "review" || request.kind !== "tool-call" || !approval) return outcome;
  if (approval.argumentsHash !== request.tool?.argumentsHash) return outcome;
  return {
    decision: "allow",
    policies: outcome.policies,
    reasons: [
      ...outcome.reasons,
      `approved by ${approval.approvedBy.join(" and ")} (approval ${approval.id}, arguments ${approval.argumentsHash.slice(0, 12)}…)`,
    ],
  };
}

function sameMembers(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
