import { z } from "zod";
import { KeelError } from "../../../src/errors/keel-error.ts";
import type { SqlClient } from "../../../src/store/store.ts";
import { defineTool, type Tool } from "../../../src/tools/tool.ts";
import { createAssessFindingsTool, createGetAlertTool, createRunStepTool } from "./investigation-tools.ts";
import { readSecurityData, type SecurityData } from "./security-data.ts";

/** Names the advisory lock that serialises setups; hashed to a lock id. */
const SETUP_LOCK = "keel:examples:alert-triage:containment";

/** The containment actions taken, one row per idempotency key, in the `alert_triage` schema. Idempotent. */
export async function setupAlertTriage(sql: SqlClient): Promise<void> {
  await sql.transaction(async (transaction) => {
    await transaction.query("SELECT pg_advisory_xact_lock(hashtext($1))", [SETUP_LOCK]);
    await transaction.query("CREATE SCHEMA IF NOT EXISTS alert_triage");
    await transaction.query(`CREATE TABLE IF NOT EXISTS alert_triage.containment (
      id serial PRIMARY KEY,
      idempotency_key text NOT NULL UNIQUE,
      action text NOT NULL,
      target text NOT NULL,
      alert_id text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now())`);
  });
}

type Row = { id: number; action: string; target: string; alert_id: string };

/**
 * A containment action (isolate a host, disable an account) taken at most once per idempotency key. The call must
 * state truly whether its target is critical or privileged, since the governor decides on those arguments.
 */
function containmentTool(options: {
  sql: SqlClient;
  name: "isolate_host" | "disable_account";
  description: string;
  field: "host" | "user";
  flag: "critical" | "privileged";
  truth: (target: string) => boolean | undefined;
}) {
  const { sql, name, field, flag } = options;
  const Input = z.strictObject({
    [field]: z.string().min(1),
    [flag]: z.boolean(),
    alertId: z.string().regex(/^ALR-\d{4}$/),
  });
  const present = (row: Row) => ({
    actionId: `CT-${String(row.id).padStart(5, "0")}`,
    action: name,
    target: row.target,
  });
  const find = async (idempotencyKey: string, target: string) => {
    const row = (
      await sql.query<Row>(
        "SELECT id, action, target, alert_id FROM alert_triage.containment WHERE idempotency_key = $1",
        [idempotencyKey],
      )
    ).rows[0];
    if (row && (row.action !== name || row.target !== target)) {
      throw new KeelError(
        "conflict",
        `Idempotency key ${idempotencyKey} was already used for action #${row.id}.`,
      );
    }
    return row;
  };
  return defineTool({
    name,
    description: options.description,
    input: Input,
    output: z.strictObject({ actionId: z.string(), action: z.literal(name), target: z.string() }),
    sideEffect: true,
    dataClasses: ["internal"],
    async execute(input, context) {
      context.signal.throwIfAborted();
      const target = input[field] as string;
      const truth = options.truth(target);
      if (truth === undefined) throw new KeelError("not_found", `No ${field} ${target} is known.`);
      if (truth !== input[flag]) {
        throw new KeelError(
          "invalid_request",
          `${target} is ${truth ? "" : "not "}${flag}; ${flag} must say so.`,
        );
      }
      const inserted = (
        await sql.query<Row>(
          `INSERT INTO alert_triage.containment (idempotency_key, action, target, alert_id) VALUES ($1, $2, $3, $4)
           ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, action, target, alert_id`,
          [context.idempotencyKey, name, target, input.alertId],
        )
      ).rows[0];
      const row = inserted ?? (await find(context.idempotencyKey, target));
      if (!row) throw new KeelError("internal", "The action was neither taken nor found; try again.");
      return present(row);
    },
    async reconcile(input, context) {
      const row = await find(context.idempotencyKey, input[field] as string);
      return row ? { applied: true, result: present(row) } : { applied: false };
    },
  });
}

/** Every tool the alert-triage workflow calls: the look-ups over the bundled data, and the containment actions. */
export function createAlertTriageTools(options: { sql: SqlClient; data?: SecurityData }): Tool[] {
  const data = options.data ?? readSecurityData();
  return [
    createGetAlertTool(data),
    createRunStepTool(data),
    createAssessFindingsTool(),
    containmentTool({
      sql: options.sql,
      name: "isolate_host",
      description: "Isolate a host from the network (the endpoint agent keeps only its link to the SOC).",
      field: "host",
      flag: "critical",
      truth: (host) => data.hosts.find((entry) => entry.host === host)?.critical,
    }) as Tool,
    containmentTool({
      sql: options.sql,
      name: "disable_account",
      description: "Disable a work account and end its sessions.",
      field: "user",
      flag: "privileged",
      truth: (user) => data.users.find((entry) => entry.user === user)?.privileged,
    }) as Tool,
  ];
}
