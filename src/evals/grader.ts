import type { CaseOutcome } from "./case-outcome.ts";
import type { EvalCase } from "./eval-case.ts";

/** Deterministic graders read facts; judges ask a model; custom graders are a team's own TypeScript. */
export type GraderKind = "deterministic" | "judge" | "custom";

/** One grader's verdict on one case: pass or fail, a score in [0, 1], and why. */
export type Grade = {
  grader: string;
  kind: GraderKind;
  passed: boolean;
  score: number;
  reason: string;
  /** An uncalibrated judge's grade is reported but never decides whether a case passes. */
  advisory?: boolean;
  /** A judge's verdict per rubric criterion. */
  criteria?: Record<string, boolean>;
};

/** What a grader is given: the case, its run's outcome, and a signal to stop. */
export type GradeContext = { case: EvalCase; outcome: CaseOutcome; signal: AbortSignal };

/** The grader port: one name, one kind, one method. */
export type Grader = {
  readonly name: string;
  readonly kind: GraderKind;
  grade(context: GradeContext): Grade | Promise<Grade>;
};

/** A passing or failing grade with score 1 or 0. */
export function verdict(grader: string, kind: GraderKind, passed: boolean, reason: string): Grade {
  return { grader, kind, passed, score: passed ? 1 : 0, reason };
}

/** Define a custom grader in TypeScript; returning a boolean is enough, a full grade is also accepted. */
export function defineGrader(
  name: string,
  grade: (
    context: GradeContext,
  ) =>
    | boolean
    | { passed: boolean; score?: number; reason?: string }
    | Promise<boolean | { passed: boolean; score?: number; reason?: string }>,
): Grader {
  return {
    name,
    kind: "custom",
    async grade(context) {
      const result = await grade(context);
      const value = typeof result === "boolean" ? { passed: result } : result;
      return {
        grader: name,
        kind: "custom",
        passed: value.passed,
        score: value.score ?? (value.passed ? 1 : 0),
        reason: value.reason ?? (value.passed ? "passed" : "failed"),
      };
    },
  };
}
