import type { Principal, RolloutAssignment, RunStatus } from "../journal/index.ts";

/** A cancel's requester (a principal's subject, or `system:keel` when the runtime cancels) and its reason. */
export type CancelRequest = { by: string; reason?: string };

/** The actor Keel's runtime cancels as: a join or branch timeout, or a parent run that ended other than completed. */
export const SYSTEM_ACTOR = "system:keel";

/**
 * The request a tree cancel gives each descendant it marks: the same requester, and a reason naming the run whose
 * cancel reached it (and that cancel's own reason).
 */
export function descendantCancelRequest(ancestorRunId: string, request: CancelRequest): CancelRequest {
  const why = request.reason === undefined ? "" : `: ${request.reason}`;
  return { by: request.by, reason: `the cancel of run ${ancestorRunId} reached it${why}` };
}

/** The request of a cancel marked before requests were recorded (the migration that added them fills it in). */
export const UNRECORDED_CANCEL: CancelRequest = {
  by: "unknown",
  reason: "requested before requesters were recorded",
};

/** The run-end message of a run cancelled on request: who asked, and why when a reason was given. */
export function cancelMessage(request: CancelRequest): string {
  return request.reason === undefined
    ? `cancelled by ${request.by}`
    : `cancelled by ${request.by}: ${request.reason}`;
}

/** The run row: a projection of the journal plus lease and cancel bookkeeping. */
export type RunRecord = {
  runId: string;
  agent: string;
  agentVersion: string;
  status: RunStatus;
  input: string;
  principal: Principal;
  /** The tenant the run acts for (its principal's); every control-plane listing filters on it. */
  tenant: string;
  createdAt: Date;
  /**
   * When the run last changed status or was otherwise touched (a cancel request, an approval); the steps of a
   * run that stays running leave it alone (`lastSeq` counts them).
   */
  updatedAt: Date;
  lastSeq: number;
  answer: string | null;
  error: { code: string; message: string } | null;
  cancelRequested: boolean;
  /** Who requested the run's cancel and why (journaled as `run-cancel` when the run ends); null when none was. */
  cancelRequest: CancelRequest | null;
  idempotencyKey: string | null;
  /** The run that started this one as a child, and the node of it that did; null on a top-level run. */
  parentRunId: string | null;
  parentNode: string | null;
  /** The top of the run's tree: its own id on a top-level run. */
  rootRunId: string;
  /** When a suspended run's durable timer comes due (its wait's `until`); null when no timer runs. */
  wakeAt: Date | null;
  /** The live run this one shadows (docs/shadow.md); null on a live run. */
  shadowOf: string | null;
  /** The deployment arm the run was assigned to, as its run-start journals it; null when no deployment was open. */
  rollout: RolloutAssignment | null;
};
