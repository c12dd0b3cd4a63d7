import { z } from "zod";
import { KeelError } from "../../../src/errors/keel-error.ts";
import type { SqlClient } from "../../../src/store/store.ts";
import { defineTool } from "../../../src/tools/tool.ts";

/** Names the advisory lock that serialises setups; hashed to a lock id. */
const SETUP_LOCK = "keel:examples:service-desk:resolutions";

/** The service desk's own table: how each request was resolved, one row per idempotency key. Idempotent. */
export async function setupServiceDesk(sql: SqlClient): Promise<void> {
  await sql.transaction(async (transaction) => {
    await transaction.query("SELECT pg_advisory_xact_lock(hashtext($1))", [SETUP_LOCK]);
    await transaction.query("CREATE SCHEMA IF NOT EXISTS service_desk");
    await transaction.query(`CREATE TABLE IF NOT EXISTS service_desk.resolutions (
      id serial PRIMARY KEY,
      idempotency_key text NOT NULL UNIQUE,
      team text NOT NULL,
      request text NOT NULL,
      answer text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now())`);
  });
}

export const Team = z.enum(["billing", "shipping", "it", "person"]);
const ResolutionOutput = z.strictObject({ caseId: z.string(), team: Team });
type Row = { id: number; team: string; request: string };

/**
 * `record_resolution`: write down which team resolved a request and what it answered, for the desk's reports;
 * once per idempotency key (a retry returns the case already recorded).
 */
export function createRecordResolutionTool(options: { sql: SqlClient }) {
  const { sql } = options;
  const find = async (idempotencyKey: string, input: { team: string; request: string }) => {
    const row = (
      await sql.query<Row>(
        "SELECT id, team, request FROM service_desk.resolutions WHERE idempotency_key = $1",
        [idempotencyKey],
      )
    ).rows[0];
    if (row && (row.team !== input.team || row.request !== input.request)) {
      throw new KeelError(
        "conflict",
        `Idempotency key ${idempotencyKey} was already used for case #${row.id}.`,
      );
    }
    return row;
  };
  const present = (row: Row) => ({
    caseId: `SD-${String(row.id).padStart(5, "0")}`,
    team: row.team as z.infer<typeof Team>,
  });
  return defineTool({
    name: "record_resolution",
    description: "Record which team handled a service-desk request and its answer.",
    input: z.strictObject({
      team: Team,
      request: z.string().min(1).max(4000),
      answer: z.string().max(8000),
    }),
    output: ResolutionOutput,
    sideEffect: true,
    dataClasses: ["internal"],
    async execute(input, context) {
      context.signal.throwIfAborted();
      const inserted = (
        await sql.query<Row>(
          `INSERT INTO service_desk.resolutions (idempotency_key, team, request, answer) VALUES ($1, $2, $3, $4)
           ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, team, request`,
          [context.idempotencyKey, input.team, input.request, input.answer],
        )
      ).rows[0];
      const row = inserted ?? (await find(context.idempotencyKey, input));
      if (!row) throw new KeelError("internal", "The resolution was neither written nor found; try again.");
      return present(row);
    },
    async reconcile(input, context) {
      const row = await find(context.idempotencyKey, input);
      return row ? { applied: true, result: present(row) } : { applied: false };
    },
  });
}
