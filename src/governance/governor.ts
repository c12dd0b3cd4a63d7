import type { Principal } from "../journal/events.ts";

/** The boundary-crossing actions the governor decides before they happen. */
export type ActionKind = "tool-call" | "model-call" | "handoff" | "outbound-message";

/** What an action is about to do, and in whose name. */
export type ActionRequest = {
  kind: ActionKind;
  runId: string;
  agent: { name: string; version: string };
  /** The person or service the run acts for; effective permission is the agent's intersected with theirs. */
  principal: Principal;
  /** For tool calls: the tool, its arguments and their hash (RFC 8785 canonical JSON, SHA-256). */
  tool?: { name: string; callId: string; arguments: unknown; argumentsHash: string };
  /** For model calls: the target model. */
  model?: { provider: string; id: string };
  /** Data classes the run has seen so far (public, internal, pii, financial, …). */
  dataClasses: readonly string[];
};

/** The governor's answer. Decisions are data, never exceptions; any internal error is a `deny`. */
export type PolicyDecision =
  | { decision: "allow"; reasons: string[]; policies: string[]; capability?: string }
  | { decision: "review"; reasons: string[]; policies: string[] }
  | { decision: "deny"; reasons: string[]; policies: string[]; code: string };

/** The policy decision point every action passes first (ARCHITECTURE.md invariant 2). */
export interface Governor {
  decide(request: ActionRequest, options: { signal: AbortSignal }): Promise<PolicyDecision>;
}
