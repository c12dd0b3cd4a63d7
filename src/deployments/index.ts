// deployments/: versions of an agent side by side, and the deployments that move traffic between a stable and a
// candidate version (direct, shadow, canary, A/B) by sticky assignment, judged stage by stage (docs/rollout.md).

export { assignArm, bucketOf, type StickyKey, stickyKeyOf } from "./assign-arm.ts";
export {
  DEPLOYMENT_STATES,
  type Deployment,
  type DeploymentEvent,
  type DeploymentEventKind,
  type DeploymentPlan,
  type DeploymentState,
  OPEN_STATES,
} from "./deployment.ts";
export { gatherArmSamples } from "./gather-arm-samples.ts";
export { planDeployment } from "./plan-deployment.ts";
export {
  CONTROLLER_ACTOR,
  createRolloutController,
  type RolloutAction,
  type RolloutController,
  type RolloutStatus,
  type RunRoute,
} from "./rollout-controller.ts";
export { type RolloutMetrics, registerRolloutMetrics } from "./rollout-metrics.ts";
export { createSqlDeployments, type DeploymentChange, type Deployments } from "./sql-deployments.ts";
