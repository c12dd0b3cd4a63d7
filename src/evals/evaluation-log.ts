import { KeelError } from "../errors/index.ts";
import {
  canonicalJson,
  hashPayload,
  type RunAnnotationPayload,
  RunAnnotationPayloads,
  type RunAnnotationType,
} from "../journal/index.ts";
import type { SqlClient } from "../store/index.ts";

/** One evaluation or feedback event, as recorded. */
export type EvaluationEvent<T extends RunAnnotationType = RunAnnotationType> = {
  eventId: number;
  type: T;
  runId: string;
  agent: string;
  version: string;
  payload: RunAnnotationPayload<T>;
  payloadHash: string;
  at: string;
};

/** One bucket of a score series: how many scores, their mean and the share that passed. */
export type ScorePoint = { bucket: string; count: number; meanScore: number; passRate: number };

/**
 * The append-only log of evaluation and feedback events (`keel_evaluation_events`). Payloads are validated
 * against the journal vocabulary's schemas and hashed canonically before they are written; nothing is updated
 * or deleted. Drift monitors read the score series.
 */
export type EvaluationLog = {
  record<T extends RunAnnotationType>(event: {
    type: T;
    runId: string;
    agent: string;
    version: string;
    payload: RunAnnotationPayload<T>;
  }): Promise<EvaluationEvent<T>>;
  forRun(runId: string): Promise<EvaluationEvent[]>;
  /** Events of one agent and type, oldest first, optionally after an event id (to tail the log). */
  list(options: {
    agent?: string;
    type?: RunAnnotationType;
    afterId?: number;
    limit?: number;
  }): Promise<EvaluationEvent[]>;
  /** Scores per day (or hour) for one agent and type: what tracking over time and drift alarms read. */
  scoreSeries(options: {
    agent: string;
    type: RunAnnotationType;
    bucket?: "day" | "hour";
    since?: Date;
  }): Promise<ScorePoint[]>;
};

type Row = {
  event_id: number | string;
  type: RunAnnotationType;
  run_id: string;
  agent: string;
  version: string;
  payload: unknown;
  payload_hash: string;
  at: Date | string;
};

const COLUMNS = "event_id, type, run_id, agent, version, payload, payload_hash, at";

/** The evaluation log in the run store's database (migration 0006). */
export function sqlEvaluationLog(sql: SqlClient): EvaluationLog {
  return {
    async record(event) {
      const schema = RunAnnotationPayloads[event.type];
      const parsed = schema.safeParse(event.payload);
      if (!parsed.success) {
        throw new KeelError("invalid_request", `the ${event.type} event is not valid`, {
          issues: parsed.error.issues.map((issue) => ({
            path: issue.path.join("."),
            message: issue.message,
          })),
        });
      }
      const payload = JSON.parse(canonicalJson(parsed.data)) as unknown;
      const { rows } = await sql.query<Row>(
        `INSERT INTO keel_evaluation_events (type, run_id, agent, version, payload, payload_hash)
         VALUES ($1, $2, $3, $4, $5::jsonb, $6) RETURNING ${COLUMNS}`,
        [event.type, event.runId, event.agent, event.version, JSON.stringify(payload), hashPayload(payload)],
      );
      return toEvent(rows[0]!) as EvaluationEvent<typeof event.type>;
    },
    async forRun(runId) {
      const { rows } = await sql.query<Row>(
        `SELECT ${COLUMNS} FROM keel_evaluation_events WHERE run_id = $1 ORDER BY event_id`,
        [runId],
      );
      return rows.map(toEvent);
    },
    async list(options) {
      const { rows } = await sql.query<Row>(
        `SELECT ${COLUMNS} FROM keel_evaluation_events
          WHERE ($1::text IS NULL OR agent = $1) AND ($2::text IS NULL OR type = $2) AND event_id > $3
          ORDER BY event_id LIMIT $4`,
        [options.agent ?? null, options.type ?? null, options.afterId ?? 0, options.limit ?? 1_000],
      );
      return rows.map(toEvent);
    },
    async scoreSeries(options) {
      const unit = options.bucket ?? "day";
      const { rows } = await sql.query<{
        bucket: string;
        count: number | string;
        mean: number | string;
        passed: number | string;
      }>(
        `SELECT to_char(at AT TIME ZONE 'UTC', '${unit === "hour" ? 'YYYY-MM-DD"T"HH24' : "YYYY-MM-DD"}') AS bucket, count(*) AS count,
                avg((payload->>'score')::float8) AS mean,
                avg(CASE WHEN coalesce((payload->>'passed')::boolean, (payload->>'score')::float8 >= 1) THEN 1 ELSE 0 END) AS passed
           FROM keel_evaluation_events
          WHERE agent = $1 AND type = $2 AND at >= $3
          GROUP BY 1 ORDER BY 1`,
        [options.agent, options.type, (options.since ?? new Date(0)).toISOString()],
      );
      return rows.map((row) => ({
        bucket: row.bucket,
        count: Number(row.count),
        meanScore: Number(row.mean),
        passRate: Number(row.passed),
      }));
    },
  };
}

function toEvent(row: Row): EvaluationEvent {
  return {
    eventId: Number(row.event_id),
    type: row.type,
    runId: row.run_id,
    agent: row.agent,
    version: row.version,
    payload: (typeof row.payload === "string"
      ? JSON.parse(row.payload)
      : row.payload) as EvaluationEvent["payload"],
    payloadHash: row.payload_hash,
    at: row.at instanceof Date ? row.at.toISOString() : new Date(row.at).toISOString(),
  };
}
