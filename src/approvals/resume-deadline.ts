import type { ApprovalView } from "./approval-view.ts";

/** The least time a resumed run gets, however little it had left when it suspended. */
export const MIN_RESUMED_RUN_MS = 30_000;

/**
 * The deadline a run gets when it resumes after waiting for a person: the time it had left when it suspended,
 * counted from now (time spent waiting is not the agent's), and at least MIN_RESUMED_RUN_MS.
 */
export function resumeDeadline(view: Pick<ApprovalView, "suspendedAt" | "deadlineAt">, now: Date): Date {
  const left = view.suspendedAt === null ? 0 : Date.parse(view.deadlineAt) - Date.parse(view.suspendedAt);
  return new Date(now.getTime() + Math.max(Number.isFinite(left) ? left : 0, MIN_RESUMED_RUN_MS));
}
