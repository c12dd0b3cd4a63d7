import type { RunRecord } from "../store/index.ts";

/** The API's JSON view of a run. */
export function presentRun(run: RunRecord) {
  return {
    id: run.runId,
    agent: run.agent,
    agentVersion: run.agentVersion,
    status: run.status,
    input: run.input,
    answer: run.answer,
    error: run.error,
    cancelRequested: run.cancelRequested,
    cancelRequest: run.cancelRequest,
    events: run.lastSeq,
    shadowOf: run.shadowOf,
    createdAt: run.createdAt.toISOString(),
    updatedAt: run.updatedAt.toISOString(),
    links: { self: `/v1/runs/${run.runId}`, events: `/v1/runs/${run.runId}/events` },
  };
}
