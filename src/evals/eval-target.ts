import type { CaseOutcome } from "./case-outcome.ts";
import type { EvalCase } from "./eval-case.ts";

/** What an eval runs each case against: an agent through the runtime, or one component for a unit eval. */
export type EvalTarget = {
  /** The agent (or component) and version being evaluated. */
  readonly agent: string;
  readonly version: string;
  /** How its model was chosen, said plainly (offline stand-in, replay, live). */
  readonly model: string;
  /**
   * True when the same cases give the same verdicts on every run (an offline stand-in, a replayed recording, a
   * function): the gate then counts any drop beyond the threshold, with no significance test needed.
   */
  readonly deterministic?: boolean;
  run(evalCase: EvalCase, options: { signal: AbortSignal }): Promise<CaseOutcome>;
};

/**
 * A unit-eval target: one function (a tool, a prompt component, a classifier) called with the case's input;
 * its return value is the answer graders see.
 */
export function functionEvalTarget(options: {
  name: string;
  version?: string;
  run: (input: string, evalCase: EvalCase) => string | Promise<string>;
}): EvalTarget {
  return {
    agent: options.name,
    version: options.version ?? "0.0.0",
    model: "none (unit eval of a function)",
    deterministic: true,
    async run(evalCase) {
      const started = performance.now();
      try {
        const answer = await options.run(evalCase.input, evalCase);
        return outcome({ status: "completed", answer, latencyMs: performance.now() - started });
      } catch (error) {
        return outcome({
          status: "failed",
          answer: null,
          latencyMs: performance.now() - started,
          error: { code: "internal", message: error instanceof Error ? error.message : String(error) },
        });
      }
    },
  };
}

function outcome(
  fields: Pick<CaseOutcome, "status" | "answer" | "latencyMs"> & Partial<CaseOutcome>,
): CaseOutcome {
  return {
    runId: null,
    error: null,
    toolCalls: [],
    approvals: [],
    nodes: [],
    steps: 0,
    costUsd: 0,
    ...fields,
    latencyMs: Math.round(fields.latencyMs * 1000) / 1000,
  };
}
