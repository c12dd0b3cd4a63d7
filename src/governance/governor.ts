import type { Principal } from "../journal/index.ts";

/**
 * The boundary-crossing actions the governor decides before they happen. A `delegation` hands work to another
 * agent (a workflow's handoff to an agent, which starts it as a child run); its target is the agent's name.
 */
export type ActionKind = "tool-call" | "model-call" | "handoff" | "outbound-message" | "delegation";

/** What an action is about to do, and in whose name. */
export type ActionRequest = {
  kind: ActionKind;
  runId: string;
  agent: { name: string; version: string };
  /** The agents of the runs above a child run, nearest first: a kill switch on any of them denies its actions. */
  ancestors?: readonly string[];
  /** The person or service the run acts for; effective permission is the agent's intersected with theirs. */
  principal: Principal;
  /** For tool calls: the tool, its arguments and their hash (RFC 8785 canonical JSON, SHA-256). */
  tool?: { name: string; callId: string; arguments: unknown; argumentsHash: string };
  /** For model calls: the target model. */
  model?: { provider: string; id: string };
  /** For handoffs, delegations and outbound messages: the receiving agent, address or channel. */
  target?: string;
  /** Data classes the run has seen so far (public, internal, pii, financial, …); missing state is a deny. */
  dataClasses: readonly string[];
  /**
   * Tool results in the run's context that a guard flagged as prompt injection and let through: each taints the run,
   * and a tainted run's calls to outbound tools are held for review (`guards.toolResults.taint`).
   */
  taints?: readonly ContextTaint[];
  /**
   * A person's approval of this tool call, from the run's journal. It turns a policy's `review` into `allow` only
   * when it binds to exactly these arguments (the same hash); it never overrides a deny, a kill or a rate limit.
   */
  approval?: { id: string; argumentsHash: string; approvedBy: readonly string[] };
  /**
   * A tool call that already started under an allow and whose end was never recorded (its worker died): the
   * retry is decided again — kill switch, identity, policy — but its rate-limit tokens were taken when it started
   * and are not taken twice.
   */
  retry?: { attempt: number };
  /**
   * A shadow run's side-effecting call (docs/shadow.md): decided so the journal says what the governor would have
   * answered, but never executed — so it takes no rate-limit tokens from the live runs and is issued no capability.
   */
  shadowed?: true;
};

/** A tool result a guard flagged and the model may read: which call returned it, and what the detector saw. */
export type ContextTaint = { tool: string; callId: string; detector: string; classes: readonly string[] };

/** Which step of the pipeline settled the decision (ARCHITECTURE.md §1: kill → identity → policy → rate limit). */
export type DecisionStage = "kill-switch" | "identity" | "policy" | "rate-limit" | "capability" | "internal";

/** Why a deny happened, as a code a program can branch on. */
export type DenyCode =
  | "killed"
  | "kill_switch_unavailable"
  | "unknown_agent"
  | "no_identity"
  | "invalid_principal"
  | "missing_session_state"
  | "unknown_tool"
  | "invalid_arguments"
  | "oversized_arguments"
  | "arguments_hash_mismatch"
  | "invalid_request"
  | "forbidden"
  | "not_permitted"
  | "no_policies"
  | "policy_error"
  | "rate_limited"
  | "rate_limit_unavailable"
  | "capability_invalid"
  | "aborted"
  | "internal_error";

/** What shadow (log-only) policies would have decided, recorded when it differs from the enforced decision. */
export type ShadowOutcome = { decision: "allow" | "review" | "deny"; policies: string[]; reasons: string[] };

type DecisionCommon = {
  reasons: string[];
  /** The policies that determined the decision (Cedar policy ids). */
  policies: string[];
  stage: DecisionStage;
  shadow?: ShadowOutcome;
};

/**
 * While an allowed tool call is in flight: `signal` aborts when a kill switch covering it is thrown, and `end`
 * stops tracking it. Memory only, never journaled.
 */
export type InFlightAction = { readonly signal: AbortSignal; end(): void };

/** The governor's answer. Decisions are data, never exceptions; any internal error is a `deny`. */
export type PolicyDecision =
  | (DecisionCommon & {
      decision: "allow";
      /** For tool calls: the signed capability token (EdDSA JWT) the tool may forward and verify. */
      capability?: string;
      /** The token's `jti`, journaled instead of the token. */
      capabilityId?: string;
      inFlight?: InFlightAction;
    })
  | (DecisionCommon & { decision: "review" })
  | (DecisionCommon & { decision: "deny"; code: DenyCode });

/** What a tool (or the tool node on its behalf) checks a capability token against. */
export type CapabilityBinding = {
  runId: string;
  tool: string;
  callId: string;
  argumentsHash: string;
  /** `name@version` of the agent the call belongs to; a token issued to another agent is refused. */
  agent?: string;
};

/** The token's checked claims, or why it is refused. */
export type CapabilityCheck =
  | { ok: true; id: string; agent: string; subject: string; tenant: string; expiresAt: Date }
  | { ok: false; reason: string };

/** The policy decision point every action passes first (ARCHITECTURE.md invariant 2). */
export interface Governor {
  decide(request: ActionRequest, options: { signal: AbortSignal }): Promise<PolicyDecision>;
  /** Verify a capability token issued by `decide`: signature, expiry, binding and revocation. */
  verifyCapability(token: string, binding: CapabilityBinding): Promise<CapabilityCheck>;
}
