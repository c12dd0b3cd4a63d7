import { KeelError } from "../errors/index.ts";
import type { CanaryGates } from "../rollout/index.ts";
import { DEFAULT_ROLLOUT, type RolloutSection, type RolloutStrategy } from "../spec/index.ts";
import type { DeploymentPlan } from "./deployment.ts";

/**
 * The plan a deployment starts with, from the candidate's `rollout` section: a canary walks its stages; an A/B test
 * holds its split in one stage a person ends; a shadow deployment sends the candidate no live traffic (0%), only
 * copies; a direct one gives it everything at once.
 */
export function planDeployment(
  strategy: RolloutStrategy,
  section: RolloutSection = DEFAULT_ROLLOUT,
): DeploymentPlan {
  // The section's absent gates are left out rather than kept as undefined: an absent gate is not checked.
  const gates = Object.fromEntries(
    Object.entries(section.canary.gates).filter(([, gate]) => gate !== undefined),
  ) as CanaryGates;
  switch (strategy) {
    case "canary":
      return {
        stages: section.canary.stages.map((stage) => ({
          percent: stage.percent,
          minRuns: stage.minRuns,
          minDurationMs: stage.minDuration,
        })),
        gates,
      };
    case "ab":
      return { stages: [{ percent: section.ab.candidatePercent, minRuns: 0, minDurationMs: 0 }], gates };
    case "shadow":
      return { stages: [{ percent: 0, minRuns: 0, minDurationMs: 0 }], gates };
    case "direct":
      return { stages: [{ percent: 100, minRuns: 0, minDurationMs: 0 }], gates };
    default:
      throw new KeelError("invalid_request", `unknown rollout strategy ${String(strategy)}`);
  }
}
