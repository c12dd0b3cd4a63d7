import { createHash, randomBytes } from "node:crypto";
import { KeelError } from "../errors/index.ts";
import type { Principal } from "../journal/index.ts";
import { ERASED, ERASED_TEXT } from "./seal-personal-fields.ts";
import type { Store } from "./store.ts";

/** The built-in agent whose runs journal erasures: one run per `eraseSubject`, ended as it is created. */
export const ERASURE_AGENT = "keel.erasure";

/** What an erasure removed or made unreadable, by kind. */
export type ErasureCounts = {
  /** Subject keys destroyed (0 or 1): the runs' sealed journal fields can no longer be opened. */
  keys: number;
  /** Runs about the subject whose plain copies (input, answer, error, idempotency key) were blanked. */
  runs: number;
  sessions: number;
  memories: number;
  /** Approval requests whose held copy of the arguments, summary and context was blanked. */
  approvals: number;
  /** Encrypted originals of redacted tool arguments deleted. */
  sealedArguments: number;
  /** Feedback comments and evaluation grade reasons on the subject's runs blanked (their scores stay). */
  annotations: number;
};

/** An erasure's outcome: its counts and the run that journals it. */
export type ErasureReport = { counts: ErasureCounts; recordRunId: string; subjectHash: string };

/**
 * Erase a person's data in a tenant: destroy the subject's key (so the sealed fields of its runs' journals read as
 * erased, while every hash, and so `keel journal verify` and the audit log, still verifies), delete the subject's
 * sessions and memories, and blank every plain copy of its data outside the journal. Then journal the erasure as a
 * run of `keel.erasure` naming the subject only by a hash. Erasing a subject Keel does not know answers zero counts.
 */
export async function eraseSubject(
  store: Store,
  options: { tenant: string; subject: string; by: Principal; now?: Date },
): Promise<ErasureReport> {
  if (options.subject.length === 0) {
    throw new KeelError("invalid_request", "subject must not be empty", {
      issues: [{ path: "subject", message: "must not be empty" }],
    });
  }
  const { tenant, subject } = options;
  const counts = await store.sql.transaction(async (tx): Promise<ErasureCounts> => {
    const count = async (sql: string, params: unknown[]): Promise<number> =>
      Number((await tx.query<{ count: number | string }>(sql, params)).rows[0]?.count ?? 0);
    const runs = `SELECT run_id FROM keel_runs WHERE tenant = $1 AND subject = $2`;
    const sealedArguments = await count(
      `WITH gone AS (DELETE FROM keel_sealed_arguments WHERE run_id IN (${runs}) RETURNING 1)
       SELECT count(*) AS count FROM gone`,
      [tenant, subject],
    );
    const approvals = await count(
      `WITH blanked AS (
         UPDATE keel_approvals
            SET summary = $4,
                request = jsonb_set(jsonb_set(request || jsonb_build_object('summary', $4::text, 'arguments', $3::jsonb),
                                              '{context,input}', to_jsonb($4::text)),
                                    '{context,recent}', '[]'::jsonb)
          WHERE run_id IN (${runs}) RETURNING 1)
       SELECT count(*) AS count FROM blanked`,
      [tenant, subject, JSON.stringify(ERASED), ERASED_TEXT],
    );
    // A person's comment, or a judge's reason quoting the answer, is a plain copy too; the scores stay. The row's
    // payload_hash keeps naming what it held.
    const annotations = await count(
      `WITH blanked AS (
         UPDATE keel_evaluation_events
            SET payload = CASE WHEN type = 'feedback' THEN payload - 'comment'
                               ELSE jsonb_set(payload, '{grades}', (
                                 SELECT coalesce(jsonb_agg(g.grade || jsonb_build_object('reason', $3::text) ORDER BY g.position),
                                                 '[]'::jsonb)
                                   FROM jsonb_array_elements(payload -> 'grades') WITH ORDINALITY AS g(grade, position)))
                          END
          WHERE run_id IN (${runs}) RETURNING 1)
       SELECT count(*) AS count FROM blanked`,
      [tenant, subject, ERASED_TEXT],
    );
    // The runs stay (the journal is never deleted); only the thread that joined them goes.
    await tx.query(
      `DELETE FROM keel_session_runs
        WHERE session_id IN (SELECT session_id FROM keel_sessions WHERE tenant = $1 AND subject = $2)`,
      [tenant, subject],
    );
    const sessions = await count(
      `WITH gone AS (DELETE FROM keel_sessions WHERE tenant = $1 AND subject = $2 RETURNING 1)
       SELECT count(*) AS count FROM gone`,
      [tenant, subject],
    );
    // The subject's own memories, and what its runs remembered for whoever called them (`source` run:<id>).
    const memories = await count(
      `WITH gone AS (DELETE FROM keel_memories
                      WHERE tenant = $1 AND (subject = $2 OR source IN (SELECT 'run:' || run_id FROM (${runs}) AS r))
                      RETURNING 1)
       SELECT count(*) AS count FROM gone`,
      [tenant, subject],
    );
    // The run rows keep their key id: a run still going then stores what it appends as erased (sealEvents).
    const blankedRuns = await count(
      `WITH blanked AS (
         UPDATE keel_runs SET input = $3, answer = NULL, error = NULL, idempotency_key = NULL, subject = NULL
          WHERE tenant = $1 AND subject = $2 RETURNING 1)
       SELECT count(*) AS count FROM blanked`,
      [tenant, subject, ERASED_TEXT],
    );
    const keys = await count(
      `WITH gone AS (DELETE FROM keel_subject_keys WHERE tenant = $1 AND subject = $2 RETURNING 1)
       SELECT count(*) AS count FROM gone`,
      [tenant, subject],
    );
    return { keys, runs: blankedRuns, sessions, memories, approvals, sealedArguments, annotations };
  });
  const subjectHash = hashSubject(tenant, subject);
  const recordRunId = await journalErasure(store, { ...options, counts, subjectHash });
  return { counts, recordRunId, subjectHash };
}

/**
 * How an erasure record names its subject: a SHA-256 of the tenant and the id, so a person who knows the id can
 * find the record of its erasure, and the record itself holds no id.
 */
export function hashSubject(tenant: string, subject: string): string {
  return createHash("sha256").update(`keel-erasure\0${tenant}\0${subject}`).digest("hex");
}

async function journalErasure(
  store: Store,
  options: { tenant: string; by: Principal; now?: Date; counts: ErasureCounts; subjectHash: string },
): Promise<string> {
  const now = options.now ?? new Date();
  const runId = `run_erasure_${now.getTime().toString(36)}${randomBytes(6).toString("hex")}`;
  const record = JSON.stringify({
    kind: "subject-erasure",
    subjectHash: options.subjectHash,
    counts: options.counts,
    requestedBy: options.by.subject,
  });
  const expiresAt = new Date(now.getTime() + 60_000);
  await store.createRun({
    runId,
    start: {
      agent: ERASURE_AGENT,
      agentVersion: "1",
      specHash: "builtin",
      input: record,
      principal: { ...options.by, tenant: options.tenant },
      startedAt: now.toISOString(),
      deadlineAt: expiresAt.toISOString(),
      maxSteps: 1,
    },
    leaseTo: { owner: ERASURE_AGENT, ttlMs: 60_000 },
  });
  await store.append({
    lease: { runId, owner: ERASURE_AGENT, token: 1, expiresAt },
    events: [{ type: "run-end", payload: { status: "completed", answer: record, steps: 0 } }],
  });
  return runId;
}
