/** Where an agent version is in its lifecycle. */
export type AgentStatus = "draft" | "in_review" | "active" | "paused" | "retired";
export const AGENT_STATUSES: readonly AgentStatus[] = ["draft", "in_review", "active", "paused", "retired"];

/** The deployment gates; tier 1 needs the last three as well. */
export type Gate =
  | "privacy_assessment"
  | "security_review"
  | "eval_results"
  | "cost_projection"
  | "legal_review"
  | "red_team"
  | "executive_signoff";

const EVERY_TIER: readonly Gate[] = [
  "privacy_assessment",
  "security_review",
  "eval_results",
  "cost_projection",
];
const TIER_ONE: readonly Gate[] = ["legal_review", "red_team", "executive_signoff"];
export const GATES: readonly Gate[] = [...EVERY_TIER, ...TIER_ONE];

/** The gates an agent of this risk tier must have attested before it may become active. */
export function requiredGates(tier: 1 | 2 | 3): readonly Gate[] {
  return tier === 1 ? GATES : EVERY_TIER;
}

/** How often an agent of this tier is reviewed: tier 1 quarterly, tier 2 semi-annually, tier 3 annually. */
export function reviewCadenceDays(tier: 1 | 2 | 3): number {
  return tier === 1 ? 91 : tier === 2 ? 182 : 365;
}

/** Moves the lifecycle allows (activation is further gated by `activationBlockers`). */
const TRANSITIONS: Readonly<Record<AgentStatus, readonly AgentStatus[]>> = {
  draft: ["in_review", "retired"],
  in_review: ["draft", "active", "retired"],
  active: ["paused", "retired"],
  paused: ["active", "retired"],
  retired: [],
};

/** True when the lifecycle allows moving from one status to the other. */
export function canMove(from: AgentStatus, to: AgentStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** What the registry knows of one version, as far as the rules need it. */
export type GateSubject = {
  riskTier: 1 | 2 | 3;
  owner: { team: string | null; person: string | null };
  /** The latest attestation of each gate. */
  attestations: ReadonlyMap<Gate, { details: Record<string, unknown> }>;
};

/**
 * Why a version may not become active, or an empty list: it has an owning team and person, and every gate its
 * tier requires is attested — eval results with a score meeting their threshold, a cost projection approved.
 */
export function activationBlockers(subject: GateSubject): string[] {
  const blockers: string[] = [];
  if (!subject.owner.team || !subject.owner.person) blockers.push("it has no owner (team and person)");
  for (const gate of requiredGates(subject.riskTier)) {
    const attested = subject.attestations.get(gate);
    if (!attested) {
      blockers.push(`gate ${gate} is not attested`);
      continue;
    }
    const problem = checkGateDetails(gate, attested.details);
    if (problem) blockers.push(`gate ${gate}: ${problem}`);
  }
  return blockers;
}

/** What a gate's attestation must say beyond who, when and the evidence link; null when it says it. */
export function checkGateDetails(gate: Gate, details: Record<string, unknown>): string | null {
  switch (gate) {
    case "eval_results": {
      const { score, threshold } = details;
      if (typeof score !== "number" || typeof threshold !== "number") {
        return "needs the eval score and the threshold it must meet (details.score, details.threshold)";
      }
      return score >= threshold ? null : `the eval score ${score} is below the threshold ${threshold}`;
    }
    case "cost_projection":
      if (typeof details.monthlyUsd !== "number")
        return "needs the projected monthly cost (details.monthlyUsd)";
      return details.approved === true ? null : "the cost projection is not approved (details.approved)";
    default:
      return null;
  }
}

/** The review state of a version: when the next review is due and whether it is overdue or asked for. */
export function reviewState(
  entry: {
    riskTier: 1 | 2 | 3;
    lastReviewAt: Date | null;
    deployedAt: Date | null;
    reviewRequestedAt: Date | null;
  },
  now: Date,
): { dueAt: Date | null; overdue: boolean; adHoc: boolean } {
  const since = entry.lastReviewAt ?? entry.deployedAt;
  const dueAt = since ? new Date(since.getTime() + reviewCadenceDays(entry.riskTier) * 86_400_000) : null;
  return {
    dueAt,
    overdue: dueAt !== null && dueAt.getTime() <= now.getTime(),
    adHoc: entry.reviewRequestedAt !== null,
  };
}
