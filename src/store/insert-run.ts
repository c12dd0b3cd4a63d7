import { KeelError } from "../errors/index.ts";
import {
  canonicalJson,
  GENESIS_HASH,
  hashCanonicalJson,
  hashEvent,
  JOURNAL_SCHEMA_VERSION,
  type PayloadOf,
  TERMINAL_STATUSES,
} from "../journal/index.ts";
import type { CancelRequest } from "./run-record.ts";
import { RUN_COLUMNS, type RunRow, toRunRecord } from "./run-rows.ts";
import { sealPersonalFields } from "./seal-personal-fields.ts";
import type { CreateRunOptions, RunRecord, SqlClient } from "./store.ts";
import type { StoreDriver } from "./store-driver.ts";
import { ensureSubjectKey } from "./subject-keys.ts";
import { lockTreeShared } from "./tree-locks.ts";
import { type ValidatedEvent, validateNewEvents } from "./validate-new-events.ts";

/** A parent run as a child's creation reads it, under the tree's lock. */
type ParentRow = {
  tenant: string;
  subject: string | null;
  status: RunRecord["status"];
  cancel_requested: boolean;
  cancel_request: CancelRequest | null;
  root_run_id: string;
};

/**
 * Write a queued run and its `run-start` event (seq 1, linked to the genesis hash) in one transaction, or
 * return the run that already holds this agent's idempotency key. Concurrent callers with one key get one
 * run: `ON CONFLICT DO NOTHING` waits for the other insert to commit, then this one reads it.
 *
 * A child run (`options.parent`) is created under its tree's lock, shared with other creations and exclusive to a
 * cancel of any run of the tree (`cancelTree`): either the cancel's recursive statement sees the child, or the child
 * sees the cancel on its parent and is created already marked for cancellation.
 */
export async function insertRun(
  driver: StoreDriver,
  options: CreateRunOptions,
  notifyAs: string,
): Promise<{ run: RunRecord; created: boolean }> {
  if (options.start.parent !== undefined) {
    throw new KeelError(
      "invalid_request",
      "run-start's parent is written by the store: pass options.parent",
      {
        issues: [{ path: "start.parent", message: "set options.parent instead" }],
      },
    );
  }
  if (options.start.session !== undefined) {
    throw new KeelError(
      "invalid_request",
      "run-start's session is written by the store: pass options.session",
      { issues: [{ path: "start.session", message: "set options.session instead" }] },
    );
  }
  if (options.start.shadowOf !== undefined && options.session !== undefined) {
    throw new KeelError(
      "invalid_request",
      "a shadow run is never a session's message: it must not reach a user",
      {
        issues: [{ path: "session", message: "must be left out for a shadow run (start.shadowOf)" }],
      },
    );
  }
  // Validated before the transaction so a bad payload costs no round trip; a child's again with its parent below.
  const [validated] = validateNewEvents([{ type: "run-start", payload: options.start }]);
  const idempotencyKey = options.idempotencyKey ?? null;
  if (!options.session && !options.parent && !options.start.shadowOf && subjectOf(options, null) === null) {
    return await insertPlainRun(driver.sql, options, validated!, notifyAs);
  }
  return await driver.transaction(async (tx) => {
    if (options.session && idempotencyKey !== null) {
      // A repeated message answers the run it started, even once the session has moved on or that run still goes.
      const repeated = await tx.query<RunRow>(
        `SELECT ${RUN_COLUMNS} FROM keel_runs WHERE agent = $1 AND idempotency_key = $2`,
        [options.start.agent, idempotencyKey],
      );
      if (repeated.rows[0]) return { run: toRunRecord(repeated.rows[0]), created: false };
    }
    const parent = options.parent ? await readParent(tx, options) : null;
    const session = options.session ? await nextSessionTurn(tx, options) : null;
    const turn = session?.turn ?? null;
    const subject = subjectOf(options, parent?.subject ?? session?.subject ?? null);
    if (subject !== null && options.leaseTo) {
      // A lease made by hand would not name the subject's key, and the appends under it would not be sealed.
      throw new KeelError(
        "invalid_request",
        "a run about a person is leased through acquireLease, not leaseTo",
        {
          issues: [{ path: "leaseTo", message: "must be left out for a run with a subject" }],
        },
      );
    }
    const [start] =
      parent || turn
        ? validateNewEvents([
            {
              type: "run-start",
              payload: {
                ...options.start,
                ...(parent
                  ? {
                      parent: {
                        runId: options.parent!.runId,
                        node: options.parent!.node,
                        rootRunId: parent.root_run_id,
                      },
                    }
                  : {}),
                ...(turn ? { session: { sessionId: options.session!.sessionId, turn } } : {}),
              },
            },
          ])
        : [validated];
    const payload = start!.payload as PayloadOf<"run-start">;
    if (payload.shadowOf) await checkLiveRun(tx, payload.shadowOf.runId, payload.principal.tenant);
    if (parent && parent.tenant !== payload.principal.tenant) {
      throw new KeelError(
        "forbidden",
        `a child run acts for its parent's tenant: run ${options.parent!.runId} acts for another tenant`,
        { issues: [{ path: "start.principal.tenant", message: "must be the parent run's tenant" }] },
      );
    }
    // A run about a person stores its input sealed under the person's key; the hash is taken of what is stored.
    const subjectKey =
      subject === null ? null : await ensureSubjectKey(tx, payload.principal.tenant, subject);
    const payloadJson = subjectKey
      ? canonicalJson(sealPersonalFields("run-start", payload, subjectKey))
      : start!.payloadJson;
    const fields = {
      runId: options.runId,
      seq: 1,
      type: "run-start",
      at: new Date().toISOString(),
      payloadHash: hashCanonicalJson(payloadJson),
      prevHash: GENESIS_HASH,
    };
    const hash = hashEvent(fields);
    const inserted = await tx.query<RunRow>(
      `${INSERT_RUN} RETURNING ${RUN_COLUMNS}`,
      insertRunParameters(options, payload, {
        hash,
        idempotencyKey,
        subject,
        subjectKeyId: subjectKey?.keyId ?? null,
        parent,
      }),
    );
    const row = inserted.rows[0];
    if (row) {
      // Queued for the audit log's sequencer in the same statement (the run row is locked: it was just inserted).
      await tx.query(
        `WITH pending AS (INSERT INTO keel_audit_pending (run_id, first_seq, count) VALUES ($1, 1, 1))
         INSERT INTO keel_event_batches
           (run_id, first_seq, types, at, schema_version, payloads, payload_hashes, prev_hash, hashes, lease_token)
         VALUES ($1, 1, ARRAY['run-start'], $2::timestamptz, $4, '[' || $3 || ']', decode($5, 'hex'),
                 decode($6, 'hex'), decode($7, 'hex'), 0)`,
        [
          fields.runId,
          fields.at,
          payloadJson,
          JOURNAL_SCHEMA_VERSION,
          fields.payloadHash,
          GENESIS_HASH,
          hash,
        ],
      );
      if (turn) {
        await tx.query("INSERT INTO keel_session_runs (session_id, turn, run_id) VALUES ($1, $2, $3)", [
          options.session!.sessionId,
          turn,
          options.runId,
        ]);
      }
      // Delivered at COMMIT: idle workers in other processes wake for a run they can already claim.
      await tx.query("SELECT keel_notify('keel_work', $1, $2)", [options.runId, notifyAs]);
      return { run: toRunRecord(row), created: true };
    }
    if (idempotencyKey !== null) {
      const existing = await tx.query<RunRow>(
        `SELECT ${RUN_COLUMNS} FROM keel_runs WHERE agent = $1 AND idempotency_key = $2`,
        [payload.agent, idempotencyKey],
      );
      if (existing.rows[0]) return { run: toRunRecord(existing.rows[0]), created: false };
    }
    throw new KeelError("conflict", `run ${options.runId} already exists`);
  });
}

/**
 * The number of the session's next message, read with the session's row locked so two messages cannot both take it.
 * The session must exist for the run's agent and tenant, not be deleted, and have no run still going.
 */
async function nextSessionTurn(
  tx: SqlClient,
  options: CreateRunOptions,
): Promise<{ turn: number; subject: string }> {
  const { sessionId } = options.session!;
  const { rows } = await tx.query<{ agent: string; tenant: string; subject: string; deleted: boolean }>(
    `SELECT agent, tenant, subject, deleted_at IS NOT NULL AS deleted FROM keel_sessions WHERE session_id = $1 FOR UPDATE`,
    [sessionId],
  );
  const session = rows[0];
  if (
    !session ||
    session.deleted ||
    session.agent !== options.start.agent ||
    session.tenant !== options.start.principal.tenant
  ) {
    throw new KeelError("not_found", `no session "${sessionId}"`);
  }
  const last = await tx.query<{ turn: number; run_id: string; status: RunRecord["status"] }>(
    `SELECT s.turn, s.run_id, r.status FROM keel_session_runs s JOIN keel_runs r ON r.run_id = s.run_id
      WHERE s.session_id = $1 ORDER BY s.turn DESC LIMIT 1`,
    [sessionId],
  );
  const previous = last.rows[0];
  if (previous && !TERMINAL_STATUSES.has(previous.status)) {
    throw new KeelError(
      "conflict",
      `session ${sessionId} is still answering its message ${previous.turn} (run ${previous.run_id} is ${previous.status}); send the next message once it has ended`,
    );
  }
  return { turn: previous ? Number(previous.turn) + 1 : 1, subject: session.subject };
}

/**
 * A shadow run's live run must exist, act for the same tenant (a shadow reads its journal for answers) and be live
 * itself: a shadow of a shadow would compare a candidate with a candidate.
 */
async function checkLiveRun(tx: SqlClient, runId: string, tenant: string): Promise<void> {
  const { rows } = await tx.query<{ tenant: string; shadow_of: string | null }>(
    "SELECT tenant, shadow_of FROM keel_runs WHERE run_id = $1",
    [runId],
  );
  const live = rows[0];
  if (!live || live.tenant !== tenant) {
    throw new KeelError("not_found", `live run ${runId} does not exist`, {
      issues: [{ path: "start.shadowOf.runId", message: "no such run in this tenant" }],
    });
  }
  if (live.shadow_of !== null) {
    throw new KeelError(
      "invalid_request",
      `run ${runId} is itself a shadow run: a shadow shadows a live run`,
      {
        issues: [{ path: "start.shadowOf.runId", message: "must name a live run" }],
      },
    );
  }
}

/** The run's data subject: the one its session or parent run is about, else the one it names (or none). */
function subjectOf(options: CreateRunOptions, inherited: string | null): string | null {
  if (options.subject !== undefined && inherited !== null && options.subject !== inherited) {
    throw new KeelError(
      "invalid_request",
      "a session's or child run's subject is its session's or parent's",
      {
        issues: [
          { path: "subject", message: "must be left out, or equal the session's or parent run's subject" },
        ],
      },
    );
  }
  return inherited ?? options.subject ?? null;
}

/**
 * Read the parent under its tree's shared lock. The root is read first without it (a run's place in its tree never
 * changes); the state is read again once the lock is held, so a cancel that committed meanwhile is seen.
 */
async function readParent(tx: SqlClient, options: CreateRunOptions): Promise<ParentRow> {
  const parentRunId = options.parent!.runId;
  const placed = await tx.query<{ root_run_id: string }>(
    "SELECT COALESCE(root_run_id, run_id) AS root_run_id FROM keel_runs WHERE run_id = $1",
    [parentRunId],
  );
  if (!placed.rows[0]) {
    throw new KeelError("not_found", `parent run ${parentRunId} does not exist`, {
      issues: [{ path: "parent.runId", message: "no such run" }],
    });
  }
  await lockTreeShared(tx, placed.rows[0].root_run_id);
  const { rows } = await tx.query<ParentRow>(
    `SELECT tenant, subject, status, cancel_requested, cancel_request, COALESCE(root_run_id, run_id) AS root_run_id
       FROM keel_runs WHERE run_id = $1`,
    [parentRunId],
  );
  const parent = rows[0]!;
  if (TERMINAL_STATUSES.has(parent.status)) {
    throw new KeelError(
      "conflict",
      `parent run ${parentRunId} has ended (${parent.status}): it takes no children`,
    );
  }
  return parent;
}

/**
 * The run row's INSERT, up to its RETURNING: $1–$19 as `insertRunParameters` gives them. A run that already holds
 * this agent's idempotency key (or this id) inserts nothing.
 */
const INSERT_RUN = `INSERT INTO keel_runs
         (run_id, agent, agent_version, status, input, principal, last_seq, last_hash, idempotency_key,
        lease_owner, lease_token, lease_expires_at, tenant, parent_run_id, parent_node, root_run_id, cancel_requested,
        cancel_request, subject, subject_key_id, rollout, shadow_of)
       VALUES ($1, $2, $3, 'queued', $4, $5::text::jsonb, 1, $6, $7,
        $8::text, CASE WHEN $8::text IS NULL THEN 0 ELSE 1 END,
        CASE WHEN $8::text IS NULL THEN NULL ELSE clock_timestamp() + $9::float8 * interval '1 millisecond' END,
        $10, $11, $12, $13, $14, $15::text::jsonb, $16, $17, $18::text::jsonb, $19)
       ON CONFLICT DO NOTHING`;

function insertRunParameters(
  options: CreateRunOptions,
  payload: PayloadOf<"run-start">,
  written: {
    hash: string;
    idempotencyKey: string | null;
    subject: string | null;
    subjectKeyId: string | null;
    parent: ParentRow | null;
  },
): unknown[] {
  const { parent } = written;
  return [
    options.runId,
    payload.agent,
    payload.agentVersion,
    payload.input,
    JSON.stringify(payload.principal),
    written.hash,
    written.idempotencyKey,
    options.leaseTo?.owner ?? null,
    options.leaseTo?.ttlMs ?? 0,
    payload.principal.tenant,
    payload.parent?.runId ?? null,
    payload.parent?.node ?? null,
    payload.parent?.rootRunId ?? null,
    parent?.cancel_requested ?? false,
    // A child created under a cancelled parent is cancelled by the same request.
    parent?.cancel_requested && parent.cancel_request ? JSON.stringify(parent.cancel_request) : null,
    written.subject,
    written.subjectKeyId,
    payload.rollout ? JSON.stringify(payload.rollout) : null,
    payload.shadowOf?.runId ?? null,
  ];
}

/**
 * A run with no parent, session, subject or live run to shadow — most runs — in one statement in autocommit: the
 * run row, its `run-start` batch, its place in the audit log's queue and the wake-up, where the transaction takes
 * five round trips. The statement goes in whole or not at all, as the transaction does.
 */
async function insertPlainRun(
  sql: SqlClient,
  options: CreateRunOptions,
  start: ValidatedEvent,
  notifyAs: string,
): Promise<{ run: RunRecord; created: boolean }> {
  const payload = start.payload as PayloadOf<"run-start">;
  const idempotencyKey = options.idempotencyKey ?? null;
  const at = new Date().toISOString();
  const payloadHash = hashCanonicalJson(start.payloadJson);
  const hash = hashEvent({
    runId: options.runId,
    seq: 1,
    type: "run-start",
    at,
    payloadHash,
    prevHash: GENESIS_HASH,
  });
  const parameters = insertRunParameters(options, payload, {
    hash,
    idempotencyKey,
    subject: null,
    subjectKeyId: null,
    parent: null,
  });
  const { rows } = await sql.query<RunRow>(
    `WITH run AS (
       ${INSERT_RUN}
       RETURNING ${RUN_COLUMNS}
     ), batch AS (
       INSERT INTO keel_event_batches
         (run_id, first_seq, types, at, schema_version, payloads, payload_hashes, prev_hash, hashes, lease_token)
       SELECT run_id, 1, ARRAY['run-start'], $20::timestamptz, $21, '[' || $22 || ']', decode($23, 'hex'),
              decode($24, 'hex'), decode($6, 'hex'), 0
         FROM run
     ), pending AS (
       INSERT INTO keel_audit_pending (run_id, first_seq, count) SELECT run_id, 1, 1 FROM run
     )
     -- Delivered at commit: idle workers in other processes wake for a run they can already claim.
     SELECT ${RUN_COLUMNS}, keel_notify('keel_work', run_id, $25) AS notified FROM run`,
    [...parameters, at, JOURNAL_SCHEMA_VERSION, start.payloadJson, payloadHash, GENESIS_HASH, notifyAs],
    { prepared: "keel_insert_run" },
  );
  const row = rows[0];
  if (row) return { run: toRunRecord(row), created: true };
  if (idempotencyKey !== null) {
    const existing = await sql.query<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM keel_runs WHERE agent = $1 AND idempotency_key = $2`,
      [payload.agent, idempotencyKey],
    );
    if (existing.rows[0]) return { run: toRunRecord(existing.rows[0]), created: false };
  }
  throw new KeelError("conflict", `run ${options.runId} already exists`);
}
