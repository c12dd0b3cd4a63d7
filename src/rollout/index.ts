// rollout/: moving traffic between an agent's versions safely — the shadow report that compares a candidate's
// shadow runs with the live runs they copied, people's decisions included (docs/shadow.md).
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
