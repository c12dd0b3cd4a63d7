import type { JournalEvent, Principal, RolloutAssignment, RunStatus } from "../journal/index.ts";
import type { CancelRequest } from "./run-record.ts";
import type { Lease, RunRecord } from "./store.ts";

/** Columns of `keel_runs` that make up a RunRecord, in the shape `RunRow` expects. */
export const RUN_COLUMNS = `run_id, agent, agent_version, status, input, principal, tenant, created_at, updated_at,
  last_seq, answer, error, cancel_requested, cancel_request, idempotency_key, parent_run_id, parent_node, root_run_id, wake_at,
  rollout, shadow_of`;

/** A `keel_runs` row as the drivers return it (pg gives bigint as a string, PGlite as a number). */
export type RunRow = {
  run_id: string;
  agent: string;
  agent_version: string;
  status: RunStatus;
  input: string;
  principal: Principal;
  tenant: string;
  created_at: Date;
  updated_at: Date;
  last_seq: number;
  answer: string | null;
  error: { code: string; message: string } | null;
  cancel_requested: boolean;
  cancel_request: CancelRequest | null;
  idempotency_key: string | null;
  parent_run_id: string | null;
  parent_node: string | null;
  root_run_id: string | null;
  wake_at: Date | null;
  shadow_of: string | null;
  rollout: RolloutAssignment | null;
};

/** Map a `keel_runs` row to the port's RunRecord. */
export function toRunRecord(row: RunRow): RunRecord {
  return {
    runId: row.run_id,
    agent: row.agent,
    agentVersion: row.agent_version,
    status: row.status,
    input: row.input,
    principal: row.principal,
    tenant: row.tenant,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastSeq: Number(row.last_seq),
    answer: row.answer,
    error: row.error,
    cancelRequested: row.cancel_requested,
    cancelRequest: row.cancel_request,
    idempotencyKey: row.idempotency_key,
    parentRunId: row.parent_run_id,
    parentNode: row.parent_node,
    rootRunId: row.root_run_id ?? row.run_id,
    wakeAt: row.wake_at,
    shadowOf: row.shadow_of,
    rollout: row.rollout,
  };
}

/**
 * Columns of `keel_events` that make up a JournalEvent: the payload (stored as JSON text) as json, which the drivers
 * parse, and the hashes (stored as bytes) in hex as they were computed.
 */
export const EVENT_COLUMNS = `run_id, seq, type, at, payload::json AS payload, schema_version, encode(payload_hash, 'hex') AS payload_hash,
  encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash`;

/**
 * A condition on the `keel_events` view (as `alias`) that unfolds only the batches able to hold seqs from `fromSeq`
 * on in run `runId` (SQL expressions): the batch that holds `fromSeq` and every later one, found through the
 * batches' primary key (migration 0025). A reader of a few events of a long run adds it beside its own seq
 * condition, which still decides which events it gets; an upper bound on `batch_first_seq` narrows it further.
 */
export function batchesFrom(alias: string, runId: string, fromSeq: string): string {
  return `${alias}.batch_first_seq >= coalesce((SELECT max(first_seq) FROM keel_event_batches
                                                 WHERE run_id = ${runId} AND first_seq <= ${fromSeq}), 0)`;
}

/** The number of events stored, counted from the batches without unfolding them. */
export const COUNT_EVENTS = "(SELECT coalesce(sum(cardinality(types)), 0) FROM keel_event_batches)";

/** A `keel_events` row as the drivers return it. */
export type EventRow = {
  run_id: string;
  seq: number;
  type: string;
  at: Date;
  payload: unknown;
  schema_version: number;
  payload_hash: string;
  prev_hash: string;
  hash: string;
};

/**
 * Map a `keel_events` row to a JournalEvent. `at` was written as a millisecond ISO string and timestamptz
 * keeps microseconds, so toISOString gives back exactly the string that was hashed.
 */
export function toJournalEvent(row: EventRow): JournalEvent {
  return {
    runId: row.run_id,
    seq: Number(row.seq),
    type: row.type,
    at: row.at.toISOString(),
    payload: row.payload,
    schemaVersion: Number(row.schema_version),
    payloadHash: row.payload_hash,
    prevHash: row.prev_hash,
    hash: row.hash,
  } as JournalEvent;
}

/** Columns a lease is read from, after a grant or renewal. */
export const LEASE_COLUMNS = "run_id, lease_owner, lease_token, lease_expires_at, subject_key_id";

/** The lease columns of a `keel_runs` row. */
export type LeaseRow = {
  run_id: string;
  lease_owner: string;
  lease_token: number | string;
  lease_expires_at: Date;
  subject_key_id?: string | null;
};

/** Map lease columns to a Lease; the token fits a JS number for 2^53 grants. */
export function toLease(row: LeaseRow): Lease {
  return {
    runId: row.run_id,
    owner: row.lease_owner,
    token: Number(row.lease_token),
    expiresAt: row.lease_expires_at,
    ...(row.subject_key_id ? { sealWith: row.subject_key_id } : {}),
  };
}
