import type { CaseOutcome, ToolCallOutcome } from "./case-outcome.ts";
import type { BoundsExpectation, CaseExpectation, GovernanceOutcome } from "./eval-case.ts";
import { type Grader, verdict } from "./grader.ts";

/**
 * The run was governed as expected. `allowed`: every tool call was allowed; `denied`: the governor denied one;
 * `escalated`: one was held for a person; `approved`: a held action was approved by a person.
 */
export function governanceGrader(expected: NonNullable<CaseExpectation["governance"]>): Grader {
  const name = "governance";
  return {
    name,
    kind: "deterministic",
    grade({ outcome }) {
      if (typeof expected === "string") {
        const actual = observed(outcome, outcome.toolCalls);
        return verdict(name, "deterministic", actual.includes(expected), describe(expected, actual));
      }
      const problems: string[] = [];
      for (const [tool, want] of Object.entries(expected)) {
        const actual = observed(
          outcome,
          outcome.toolCalls.filter((call) => call.tool === tool),
        );
        if (!actual.includes(want)) problems.push(`${tool}: ${describe(want, actual)}`);
      }
      return verdict(
        name,
        "deterministic",
        problems.length === 0,
        problems.length === 0 ? "every tool was governed as expected" : problems.join("; "),
      );
    },
  };
}

/** The governance outcomes that describe these calls (several can hold: escalated and then approved). */
function observed(outcome: CaseOutcome, calls: readonly ToolCallOutcome[]): GovernanceOutcome[] {
  const found: GovernanceOutcome[] = [];
  if (calls.some((call) => call.decision === "deny")) found.push("denied");
  if (calls.some((call) => call.decision === "review")) found.push("escalated");
  if (outcome.approvals.includes("approved")) found.push("approved");
  if (calls.length > 0 && calls.every((call) => call.decision === "allow")) found.push("allowed");
  if (calls.length === 0 && outcome.status !== "suspended") found.push("allowed");
  return found;
}

function describe(expected: GovernanceOutcome, actual: readonly GovernanceOutcome[]): string {
  return actual.includes(expected)
    ? `the run was ${expected} as expected`
    : `expected ${expected}, but the run was ${actual.join(" and ") || "not decided"}`;
}

/** The run ended in the expected status. */
export function statusGrader(expected: string): Grader {
  return {
    name: "status",
    kind: "deterministic",
    grade: ({ outcome }) =>
      verdict(
        "status",
        "deterministic",
        outcome.status === expected,
        outcome.status === expected
          ? `the run is ${expected}`
          : `expected ${expected}, the run is ${outcome.status}${outcome.error ? ` (${outcome.error.code}: ${outcome.error.message})` : ""}`,
      ),
  };
}

/** The run stayed within its bounds on cost, latency and model turns. */
export function boundsGrader(bounds: BoundsExpectation): Grader {
  return {
    name: "bounds",
    kind: "deterministic",
    grade({ outcome }) {
      const over: string[] = [];
      if (bounds.maxCostUsd !== undefined && outcome.costUsd > bounds.maxCostUsd)
        over.push(`cost ${outcome.costUsd.toFixed(6)} USD > ${bounds.maxCostUsd}`);
      if (bounds.maxLatencyMs !== undefined && outcome.latencyMs > bounds.maxLatencyMs)
        over.push(`latency ${outcome.latencyMs} ms > ${bounds.maxLatencyMs}`);
      if (bounds.maxSteps !== undefined && outcome.steps > bounds.maxSteps)
        over.push(`${outcome.steps} steps > ${bounds.maxSteps}`);
      return verdict(
        "bounds",
        "deterministic",
        over.length === 0,
        over.length === 0
          ? `within bounds (${outcome.steps} steps, ${outcome.latencyMs} ms, ${outcome.costUsd.toFixed(6)} USD)`
          : over.join("; "),
      );
    },
  };
}
