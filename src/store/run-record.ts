import type { Principal, RunStatus } from "../journal/index.ts";

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
  idempotencyKey: string | null;
  /** The run that started this one as a child, and the node of it that did; null on a top-level run. */
  parentRunId: string | null;
  parentNode: string | null;
  /** The top of the run's tree: its own id on a top-level run. */
  rootRunId: string;
  /** When a suspended run's durable timer comes due (its wait's `until`); null when no timer runs. */
  wakeAt: Date | null;
};
