/**
 * The governor: identity, policy (Cedar), decision authority, rate limits, budgets, data classes and the
 * kill switch — decided before every action a run takes.
 */
export type { ActionKind, ActionRequest, Governor, PolicyDecision } from "./governor.ts";
