import type { CanaryGates } from "../rollout/index.ts";
import type { RolloutStrategy, StickinessKey } from "../spec/index.ts";

/** Where a deployment is: moving traffic (running, paused), or over and why. */
export const DEPLOYMENT_STATES = [
  "running",
  "paused",
  "promoted",
  "rolled_back",
  "aborted",
  "ended",
] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

/** The states in which a deployment still holds its agent's traffic: at most one per agent. */
export const OPEN_STATES: readonly DeploymentState[] = ["running", "paused"];

/** One stage of a canary ramp, as the deployment started with it (durations in milliseconds). */
export type DeploymentStage = { percent: number; minRuns: number; minDurationMs: number };

/**
 * How a deployment moves traffic, fixed when it starts: the ramp (one stage at 100% for `direct`, one fixed stage for
 * `ab` and `shadow`) and the gates each canary stage is judged on.
 */
export type DeploymentPlan = { stages: DeploymentStage[]; gates: CanaryGates };

/** A deployment of an agent: traffic between its stable version and a candidate, and where that stands. */
export type Deployment = {
  deploymentId: string;
  agent: string;
  tenant: string;
  stableVersion: string;
  candidateVersion: string;
  strategy: RolloutStrategy;
  state: DeploymentState;
  stickiness: StickinessKey;
  plan: DeploymentPlan;
  /** Index into `plan.stages`. */
  stage: number;
  /** Share of new runs the candidate takes now, 0 to 100 (0 once it is over unless promoted, then 100). */
  candidatePercent: number;
  stageStartedAt: Date;
  startedBy: string;
  startedAt: Date;
  updatedBy: string;
  updatedAt: Date;
  endedAt: Date | null;
};

/** What happened to a deployment; `evidence` holds the verdict and the samples it was judged on, where one was. */
export type DeploymentEventKind =
  | "started"
  | "advanced"
  | "verdict"
  | "paused"
  | "resumed"
  | "promoted"
  | "rolled_back"
  | "aborted"
  | "ended";

/** One entry of a deployment's history, in order. */
export type DeploymentEvent = {
  seq: number;
  kind: DeploymentEventKind;
  stage: number;
  candidatePercent: number;
  /** Who acted: a person's subject, or `system:keel` for the controller. */
  actor: string;
  reason: string;
  evidence: Record<string, unknown> | null;
  at: Date;
};

/** The version new runs of the agent get outside any open deployment, as the deployment that ended left it. */
export function servingVersionAfter(deployment: Deployment): string {
  return deployment.state === "promoted" ? deployment.candidateVersion : deployment.stableVersion;
}
