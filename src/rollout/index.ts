/**
 * Rollout: the statistics and the stage verdict that move traffic from a stable version to a candidate, the A/B
 * comparison of two arms, autonomy proposals earned from approval history, and the shadow report that compares a
 * candidate's shadow runs with the live runs they copied, people's decisions included (docs/shadow.md).
 */

export { type ApprovalHistoryRow, readApprovalHistory } from "./approval-history.ts";
export {
  type ArmComparison,
  type ArmMetric,
  type ArmVerdict,
  compareArms,
  type MetricComparison,
} from "./compare-arms.ts";
export {
  type ArmSample,
  type CanaryGates,
  type GateName,
  type GateResult,
  judgeStage,
  MIN_OBSERVATIONS_PER_ARM,
  type StageVerdict,
} from "./judge-stage.ts";
export {
  type AutonomyProposal,
  type AutonomyReport,
  type AutonomySettings,
  type ClassEvidence,
  DEFAULT_AUTONOMY,
  proposeAutonomy,
} from "./propose-autonomy.ts";
export {
  type Agreement,
  type AnswerGrader,
  type ArmFigures,
  buildShadowReport,
  latestShadowVersion,
  normalizedMatch,
  type PeopleAgreement,
  SHADOW_REPORT_MAX_PAIRS,
  type ShadowReport,
} from "./shadow-report.ts";
export {
  bootstrapComparison,
  mean,
  normalCdf,
  normalQuantile,
  type Proportion,
  proportionDifferenceInterval,
  quantile,
  seededRandom,
  twoProportionZTest,
  wilsonInterval,
} from "./statistics.ts";
export { unifiedDiff } from "./unified-diff.ts";
