import { randomBytes } from "node:crypto";
import { KeelError } from "../errors/index.ts";
import type { PayloadOf, Principal, RunStatus } from "../journal/index.ts";
import { exactInstantSql, type ListPosition, pageOf } from "./list-position.ts";
import { openPersonalFields, sealedKeyIds } from "./seal-personal-fields.ts";
import type { SqlClient } from "./store.ts";
import { openPayload, readSubjectKeys } from "./subject-keys.ts";

/** A session: a thread of runs of one agent for one principal. Its messages are a projection of its runs. */
export type SessionRecord = {
  sessionId: string;
  agent: string;
  tenant: string;
  principal: Principal;
  /** Who the thread is about: the subject the caller named, else the principal's. */
  subject: string;
  metadata: Record<string, unknown> | null;
  createdAt: Date;
  /** How many messages the session has taken (its runs). */
  turns: number;
};

/** One run of a session, as its messages are projected from it: the input it was started with and its answer. */
export type SessionTurnRecord = {
  turn: number;
  runId: string;
  status: RunStatus;
  /** The run's journaled input (masked as the journal keeps it). */
  input: string;
  /** The run's final answer, once it completed. */
  answer: string | null;
  error: { code: string; message: string } | null;
  createdAt: Date;
};

/**
 * One journaled event of a session's earlier run that shaped its tool turns, as stored (redacted): a model turn that
 * asked for tools, a call's end (its result, or the error a denied or failed call ended with), a guard's block that
 * withheld a result from the model, or a guard's review of a result (its request, a final rejection, a denying expiry).
 */
export type SessionToolEvent = { turn: number } & (
  | { type: "model-call-end"; payload: PayloadOf<"model-call-end"> }
  | { type: "tool-call-end"; payload: PayloadOf<"tool-call-end"> }
  | { type: "guard-flag"; payload: PayloadOf<"guard-flag"> }
  | { type: "approval-request"; payload: PayloadOf<"approval-request"> }
  | { type: "approval-decision"; payload: PayloadOf<"approval-decision"> }
  | { type: "approval-expire"; payload: PayloadOf<"approval-expire"> }
);

/** Reads and writes of sessions; the run a message starts is created by `Store.createRun` with `session`. */
export type SessionQueries = {
  createSession(options: {
    agent: string;
    principal: Principal;
    subject?: string;
    metadata?: Record<string, unknown>;
    sessionId?: string;
  }): Promise<SessionRecord>;
  /** The session, or null when there is none or it was deleted. */
  getSession(sessionId: string): Promise<SessionRecord | null>;
  /**
   * The tenant's sessions, newest first, the session id breaking ties: after `startAfter` (where the last page
   * stopped), or created strictly before `before`.
   */
  listSessions(options: {
    tenant: string;
    agent?: string;
    limit: number;
    before?: Date;
    startAfter?: ListPosition;
  }): Promise<{ sessions: SessionRecord[]; next: ListPosition | null }>;
  /** Mark a session deleted: it reads as absent and takes no more messages. False when there was none to delete. */
  deleteSession(sessionId: string): Promise<boolean>;
  /** The session's runs in message order, those before `beforeTurn` only when it is given. */
  sessionTurns(sessionId: string, options?: { beforeTurn?: number }): Promise<SessionTurnRecord[]>;
  /**
   * The events behind the tool calls of the session's runs (those before `beforeTurn` only when it is given), in
   * turn and journal order: tool-call turns of the model (not summary calls), every call's end, and what a guard
   * withheld (blocks, guard reviews rejected or expired).
   */
  sessionToolEvents(sessionId: string, options?: { beforeTurn?: number }): Promise<SessionToolEvent[]>;
  /**
   * The session's working memory as its runs before `beforeTurn` (all of them without it) left it: the latest value
   * an `update_working_memory` call returned or a run carried, or null when there was none.
   */
  workingMemoryOf(
    sessionId: string,
    options?: { beforeTurn?: number },
  ): Promise<Record<string, unknown> | null>;
  /** What a session's run carried from its earlier turns (its `context-carry` event), or null. */
  contextCarryOf(runId: string): Promise<PayloadOf<"context-carry"> | null>;
};

type SessionRow = {
  session_id: string;
  agent: string;
  tenant: string;
  principal: Principal;
  subject: string;
  metadata: Record<string, unknown> | null;
  created_at: Date;
  turns: number | string;
};

const SESSION_COLUMNS = `s.session_id, s.agent, s.tenant, s.principal, s.subject, s.metadata, s.created_at,
  (SELECT count(*) FROM keel_session_runs t WHERE t.session_id = s.session_id) AS turns`;

/** A time-ordered session id: sortable by creation, unique without coordination. */
export function newSessionId(now: Date = new Date()): string {
  return `ses_${now.getTime().toString(36).padStart(9, "0")}${randomBytes(8).toString("hex")}`;
}

/** Session reads and writes in the SQL both stores run. */
export function sqlSessionQueries(sql: SqlClient): SessionQueries {
  return {
    async createSession(options) {
      const sessionId = options.sessionId ?? newSessionId();
      const { rows } = await sql.query<SessionRow>(
        `WITH s AS (
           INSERT INTO keel_sessions (session_id, agent, tenant, principal, subject, metadata)
           VALUES ($1, $2, $3, $4::text::jsonb, $5, $6::text::jsonb) RETURNING *)
         SELECT s.session_id, s.agent, s.tenant, s.principal, s.subject, s.metadata, s.created_at, 0 AS turns FROM s`,
        [
          sessionId,
          options.agent,
          options.principal.tenant,
          JSON.stringify(options.principal),
          options.subject ?? options.principal.subject,
          options.metadata === undefined ? null : JSON.stringify(options.metadata),
        ],
      );
      return toSessionRecord(rows[0]!);
    },
    async getSession(sessionId) {
      const { rows } = await sql.query<SessionRow>(
        `SELECT ${SESSION_COLUMNS} FROM keel_sessions s WHERE s.session_id = $1 AND s.deleted_at IS NULL`,
        [sessionId],
      );
      return rows[0] ? toSessionRecord(rows[0]) : null;
    },
    async listSessions(options) {
      if (!Number.isInteger(options.limit) || options.limit < 1 || options.limit > 1_000) {
        throw new KeelError("invalid_request", "limit must be a whole number from 1 to 1000", {
          issues: [{ path: "limit", message: "expected 1 to 1000" }],
        });
      }
      const { rows } = await sql.query<SessionRow & { position: string }>(
        `SELECT ${SESSION_COLUMNS}, ${exactInstantSql("s.created_at")} AS position FROM keel_sessions s
          WHERE s.tenant = $1 AND s.deleted_at IS NULL AND ($2::text IS NULL OR s.agent = $2)
            AND ($3::timestamptz IS NULL OR s.created_at < $3)
            AND ($4::timestamptz IS NULL OR (s.created_at, s.session_id) < ($4, $5::text))
          ORDER BY s.created_at DESC, s.session_id DESC LIMIT $6`,
        [
          options.tenant,
          options.agent ?? null,
          options.before?.toISOString() ?? null,
          options.startAfter?.createdAt ?? null,
          options.startAfter?.id ?? null,
          options.limit + 1,
        ],
      );
      const page = pageOf(rows, options.limit, { idOf: (row) => row.session_id, toRecord: toSessionRecord });
      return { sessions: page.rows, next: page.next };
    },
    async deleteSession(sessionId) {
      const { rows } = await sql.query<{ session_id: string }>(
        `UPDATE keel_sessions SET deleted_at = clock_timestamp()
          WHERE session_id = $1 AND deleted_at IS NULL RETURNING session_id`,
        [sessionId],
      );
      return rows.length > 0;
    },
    async sessionTurns(sessionId, options = {}) {
      const { rows } = await sql.query<{
        turn: number;
        run_id: string;
        status: RunStatus;
        input: string;
        answer: string | null;
        error: { code: string; message: string } | null;
        created_at: Date;
      }>(
        `SELECT t.turn, t.run_id, r.status, r.input, r.answer, r.error, r.created_at
           FROM keel_session_runs t JOIN keel_runs r ON r.run_id = t.run_id
          WHERE t.session_id = $1 AND ($2::integer IS NULL OR t.turn < $2)
          ORDER BY t.turn`,
        [sessionId, options.beforeTurn ?? null],
      );
      return rows.map((row) => ({
        turn: Number(row.turn),
        runId: row.run_id,
        status: row.status,
        input: row.input,
        answer: row.answer,
        error: row.error,
        createdAt: row.created_at,
      }));
    },
    async sessionToolEvents(sessionId, options = {}) {
      const { rows } = await sql.query<SessionToolEvent>(
        `SELECT t.turn, e.type, e.payload::json AS payload
           FROM keel_session_runs t JOIN keel_events e ON e.run_id = t.run_id
          WHERE t.session_id = $1 AND ($2::integer IS NULL OR t.turn < $2)
            AND ((e.type = 'model-call-end' AND e.payload::jsonb -> 'decision' ->> 'kind' = 'tool-calls'
                  AND e.payload::jsonb ->> 'phase' IS DISTINCT FROM 'context_summary')
              OR e.type = 'tool-call-end'
              OR (e.type = 'guard-flag' AND e.payload::jsonb ->> 'where' = 'tool-result'
                  AND e.payload::jsonb ->> 'action' = 'block')
              OR (e.type = 'approval-request' AND e.payload::jsonb ->> 'kind' = 'guard')
              OR (e.type = 'approval-decision' AND e.payload::jsonb ->> 'decision' = 'reject'
                  AND (e.payload::jsonb ->> 'final')::boolean)
              OR (e.type = 'approval-expire' AND e.payload::jsonb ->> 'outcome' = 'denied'))
          ORDER BY t.turn, e.seq`,
        [sessionId, options.beforeTurn ?? null],
      );
      // A session's runs keep arguments and results sealed under its subject's key: open them all with one read.
      const keyIds = new Set<string>();
      for (const row of rows) sealedKeyIds(row.type, row.payload, keyIds);
      const keys = keyIds.size > 0 ? await readSubjectKeys(sql, keyIds) : new Map<string, Buffer>();
      return rows.map(
        (row) =>
          ({
            ...row,
            turn: Number(row.turn),
            payload: keyIds.size > 0 ? openPersonalFields(row.type, row.payload, keys) : row.payload,
          }) as SessionToolEvent,
      );
    },
    async workingMemoryOf(sessionId, options = {}) {
      // The whole payload is read and opened here: a session's runs keep these fields sealed (its subject's key).
      const { rows } = await sql.query<{ type: string; payload: Record<string, unknown> }>(
        `SELECT e.type, e.payload::json AS payload
           FROM keel_session_runs t JOIN keel_events e ON e.run_id = t.run_id
          WHERE t.session_id = $1 AND ($2::integer IS NULL OR t.turn < $2)
            AND ((e.type = 'context-carry' AND e.payload::jsonb ? 'workingMemory')
              OR (e.type = 'tool-call-end' AND e.payload::jsonb ->> 'tool' = 'update_working_memory'
                  AND e.payload::jsonb ->> 'outcome' = 'ok'))
          ORDER BY t.turn DESC, e.seq DESC LIMIT 1`,
        [sessionId, options.beforeTurn ?? null],
      );
      const row = rows[0];
      if (!row) return null;
      const payload = await openPayload(sql, row.type, row.payload);
      const value =
        row.type === "context-carry"
          ? payload.workingMemory
          : (payload.result as { value?: unknown } | undefined)?.value;
      // Erased, or not an object: there is no working memory to carry.
      return isRecord(value) && value.erased !== true ? value : null;
    },
    async contextCarryOf(runId) {
      const { rows } = await sql.query<{ payload: PayloadOf<"context-carry"> }>(
        `SELECT payload::json AS payload FROM keel_events WHERE run_id = $1 AND type = 'context-carry'
          ORDER BY seq LIMIT 1`,
        [runId],
      );
      return rows[0] ? await openPayload(sql, "context-carry", rows[0].payload) : null;
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function toSessionRecord(row: SessionRow): SessionRecord {
  return {
    sessionId: row.session_id,
    agent: row.agent,
    tenant: row.tenant,
    principal: row.principal,
    subject: row.subject,
    metadata: row.metadata,
    createdAt: row.created_at,
    turns: Number(row.turns),
  };
}
