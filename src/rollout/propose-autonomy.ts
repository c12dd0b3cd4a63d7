import { stringify } from "yaml";
import type { GovernanceSection, ToolRule } from "../spec/index.ts";
import type { ApprovalHistoryRow } from "./approval-history.ts";
import { wilsonInterval } from "./statistics.ts";
import { unifiedDiff } from "./unified-diff.ts";

/** The thresholds a proposal needs (the spec's `governance.autonomy`). */
export type AutonomySettings = { threshold: number; minDecisions: number; confidence: number };

/** The defaults of `governance.autonomy`, for an agent whose spec has no governance section. */
export const DEFAULT_AUTONOMY: AutonomySettings = { threshold: 0.95, minDecisions: 50, confidence: 0.95 };

type DecisionAuthority = GovernanceSection["decisionAuthority"];

/** One class of held call — a tool and the review policies that held it — and how people decided it. */
export type ClassEvidence = {
  tool: string;
  policies: string[];
  /** The class in words, e.g. "issue_refund when input.amount > 100". */
  description: string;
  decided: number;
  approvedUnchanged: number;
  approvedEdited: number;
  rejected: number;
  expired: number;
  /** approvedUnchanged ÷ decided. */
  rate: number;
  /** Wilson interval of the approved-unchanged rate at the settings' confidence. */
  interval: { low: number; high: number };
  /** What the evidence says about this class now. */
  status:
    | "eligible"
    | "not enough decisions"
    | "below threshold"
    | "held outside decision authority"
    | "no longer held"
    | "regressed";
};

/** A reviewable change to `governance.decisionAuthority`, with the evidence for it; never applied by Keel. */
export type AutonomyProposal = {
  kind: "make-autonomous" | "return-to-review";
  tool: string;
  description: string;
  reason: string;
  evidence: ClassEvidence;
  /** Where the change goes in the spec. */
  path: "governance.decisionAuthority";
  before: DecisionAuthority;
  after: DecisionAuthority;
  /** The section after the change, as it would read in agent.yaml. */
  yaml: string;
  /** A unified diff of the section, before → after. */
  diff: string;
};

/** An agent's classes of held calls with their evidence, and the proposals that evidence supports. */
export type AutonomyReport = {
  agent: string;
  version: string;
  settings: AutonomySettings;
  classes: ClassEvidence[];
  proposals: AutonomyProposal[];
};

const UNLISTED = "decision-authority:unlisted:";
const OUTSIDE_AUTONOMOUS = "decision-authority:outside-autonomous:";
const REVIEW_ENTRY = /^governance\.decisionAuthority\.requiresHumanReview\[(\d+)\]$/;

/**
 * From an agent's approval history, propose moving a class of held calls to autonomous when the lower Wilson bound
 * of its approved-unchanged rate reaches the threshold over at least `minDecisions` decisions, and moving an
 * autonomous tool back to review when the upper bound of its rate falls below the threshold. Each proposal is a
 * change to the governance section the governor enforces now, for a person to review and apply.
 */
export function proposeAutonomy(options: {
  agent: string;
  version: string;
  governance: GovernanceSection | undefined;
  history: readonly ApprovalHistoryRow[];
  settings?: AutonomySettings;
}): AutonomyReport {
  const settings = options.settings ?? options.governance?.autonomy ?? DEFAULT_AUTONOMY;
  const authority = options.governance?.decisionAuthority ?? {
    autonomous: [],
    requiresHumanReview: [],
    forbidden: [],
  };
  const classes = groupClasses(options.history, authority, settings).map((evidence) =>
    judgeClass(evidence, authority, settings),
  );
  const proposals: AutonomyProposal[] = [];
  for (const evidence of classes) {
    if (evidence.status === "eligible") {
      const after = makeAutonomous(authority, evidence);
      proposals.push(
        proposal("make-autonomous", evidence, authority, after, options.agent, {
          reason: `${evidence.approvedUnchanged} of ${evidence.decided} held calls were approved unchanged; the lower bound of the rate (${percent(evidence.interval.low)}) reaches the threshold of ${percent(settings.threshold)}.`,
        }),
      );
    } else if (evidence.status === "regressed") {
      const after = returnToReview(authority, evidence.tool);
      proposals.push(
        proposal("return-to-review", evidence, authority, after, options.agent, {
          reason: `${evidence.tool} is autonomous, but of ${evidence.decided} decided calls only ${evidence.approvedUnchanged} were approved unchanged; even the upper bound of the rate (${percent(evidence.interval.high)}) is below the threshold of ${percent(settings.threshold)}.`,
        }),
      );
    }
  }
  return { agent: options.agent, version: options.version, settings, classes, proposals };
}

/** A tool is autonomous now when an unconditional autonomous entry names it and no review entry does. */
function isAutonomousNow(authority: DecisionAuthority, tool: string): boolean {
  return (
    authority.autonomous.some((rule) => toolOf(rule) === tool && conditionOf(rule) === undefined) &&
    !authority.requiresHumanReview.some((rule) => toolOf(rule) === tool)
  );
}

/** Sum the history per class; the classes of a tool that is autonomous now are one class (it is no longer held). */
function groupClasses(
  history: readonly ApprovalHistoryRow[],
  authority: DecisionAuthority,
  settings: AutonomySettings,
): ClassEvidence[] {
  const byClass = new Map<string, ClassEvidence>();
  for (const row of history) {
    const key = JSON.stringify(isAutonomousNow(authority, row.tool) ? [row.tool] : [row.tool, row.policies]);
    const evidence = byClass.get(key) ?? {
      tool: row.tool,
      policies: row.policies,
      description: row.tool,
      decided: 0,
      approvedUnchanged: 0,
      approvedEdited: 0,
      rejected: 0,
      expired: 0,
      rate: 0,
      interval: { low: 0, high: 1 },
      status: "not enough decisions" as const,
    };
    if (evidence.policies !== row.policies)
      evidence.policies = [...new Set([...evidence.policies, ...row.policies])].sort();
    evidence.decided += row.count;
    if (row.status === "approved" && !row.edited) evidence.approvedUnchanged += row.count;
    else if (row.status === "approved") evidence.approvedEdited += row.count;
    else if (row.status === "rejected") evidence.rejected += row.count;
    else evidence.expired += row.count;
    byClass.set(key, evidence);
  }
  return [...byClass.values()].map((evidence) => ({
    ...evidence,
    rate: evidence.approvedUnchanged / evidence.decided,
    interval: wilsonInterval(evidence.approvedUnchanged, evidence.decided, settings.confidence),
  }));
}

function toolOf(rule: ToolRule): string {
  return typeof rule === "string" ? rule : rule.tool;
}

function conditionOf(rule: ToolRule): string | undefined {
  return typeof rule === "string" ? undefined : rule.when;
}

/** Say what the class is under today's rules, and whether its evidence supports a change. */
function judgeClass(
  evidence: ClassEvidence,
  authority: DecisionAuthority,
  settings: AutonomySettings,
): ClassEvidence {
  const { tool } = evidence;
  const autonomous = authority.autonomous.filter((rule) => toolOf(rule) === tool);
  const review = authority.requiresHumanReview.filter((rule) => toolOf(rule) === tool);
  if (isAutonomousNow(authority, tool)) {
    const regressed = evidence.interval.high < settings.threshold;
    return {
      ...evidence,
      description: `${tool} (autonomous now)`,
      status: regressed ? "regressed" : "no longer held",
    };
  }
  const descriptions: string[] = [];
  for (const policy of evidence.policies) {
    const entry = REVIEW_ENTRY.exec(policy);
    if (policy === `${UNLISTED}${tool}`) {
      if (autonomous.length > 0 || review.length > 0) return { ...evidence, status: "no longer held" };
      descriptions.push(`${tool} (listed in no tier)`);
    } else if (policy === `${OUTSIDE_AUTONOMOUS}${tool}`) {
      if (autonomous.length === 0 || autonomous.some((rule) => conditionOf(rule) === undefined))
        return { ...evidence, status: "no longer held" };
      descriptions.push(`${tool} outside its autonomous conditions`);
    } else if (entry) {
      const rule = authority.requiresHumanReview[Number(entry[1])];
      if (rule === undefined || toolOf(rule) !== tool) return { ...evidence, status: "no longer held" };
      const when = conditionOf(rule);
      descriptions.push(when === undefined ? tool : `${tool} when ${when}`);
    } else {
      // A team Cedar policy or a data-access rule: not something decisionAuthority can change.
      return {
        ...evidence,
        description: `${tool} (held by ${policy})`,
        status: "held outside decision authority",
      };
    }
  }
  if (descriptions.length === 0) return { ...evidence, status: "held outside decision authority" };
  const description = descriptions.join(" and ");
  if (evidence.decided < settings.minDecisions)
    return { ...evidence, description, status: "not enough decisions" };
  if (evidence.interval.low < settings.threshold)
    return { ...evidence, description, status: "below threshold" };
  return { ...evidence, description, status: "eligible" };
}

/** The decision authority with the class's holding rules lifted, so its calls run without a person. */
function makeAutonomous(authority: DecisionAuthority, evidence: ClassEvidence): DecisionAuthority {
  const { tool } = evidence;
  const removed = new Set(
    evidence.policies
      .map((policy) => REVIEW_ENTRY.exec(policy)?.[1])
      .filter((index) => index !== undefined)
      .map(Number),
  );
  const requiresHumanReview = authority.requiresHumanReview.filter((_, index) => !removed.has(index));
  let autonomous = [...authority.autonomous];
  const ownAutonomous = autonomous.filter((rule) => toolOf(rule) === tool);
  const ownReview = requiresHumanReview.filter((rule) => toolOf(rule) === tool);
  const liftedConditions = [...removed].map((index) => conditionOf(authority.requiresHumanReview[index]!));
  const unconditional =
    evidence.policies.some(
      (policy) => policy.startsWith(UNLISTED) || policy.startsWith(OUTSIDE_AUTONOMOUS),
    ) || liftedConditions.includes(undefined);
  if (ownAutonomous.length === 0 && ownReview.length === 0) {
    // A tool in no tier is reviewed: lifting its last review rule must also list it as autonomous.
    autonomous.push(tool);
  } else if (ownAutonomous.length > 0 && ownAutonomous.every((rule) => conditionOf(rule) !== undefined)) {
    // Autonomous only under conditions: the lifted calls join those conditions, or replace them when unconditional.
    if (unconditional) autonomous = [...autonomous.filter((rule) => toolOf(rule) !== tool), tool];
    else for (const when of liftedConditions) autonomous.push({ tool, when: when! });
  }
  return { ...authority, autonomous, requiresHumanReview };
}

/** The decision authority with the tool's autonomous entries removed: with no tier, a person reviews its calls. */
function returnToReview(authority: DecisionAuthority, tool: string): DecisionAuthority {
  return { ...authority, autonomous: authority.autonomous.filter((rule) => toolOf(rule) !== tool) };
}

function proposal(
  kind: AutonomyProposal["kind"],
  evidence: ClassEvidence,
  before: DecisionAuthority,
  after: DecisionAuthority,
  agent: string,
  words: { reason: string },
): AutonomyProposal {
  const render = (section: DecisionAuthority) => stringify({ governance: { decisionAuthority: section } });
  const yaml = render(after);
  return {
    kind,
    tool: evidence.tool,
    description: evidence.description,
    reason: words.reason,
    evidence,
    path: "governance.decisionAuthority",
    before,
    after,
    yaml,
    diff: unifiedDiff({
      before: render(before),
      after: yaml,
      fromFile: `${agent}/agent.yaml (governance.decisionAuthority)`,
      toFile: `${agent}/agent.yaml (governance.decisionAuthority, proposed)`,
    }),
  };
}

function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}
