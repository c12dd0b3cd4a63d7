import { KeelError } from "../../../src/errors/keel-error.ts";
import type { SqlClient } from "../../../src/store/store.ts";

/** Names the advisory lock that serialises setups; hashed to a lock id. */
const SETUP_LOCK = "keel:examples:invoice-approval:ledger";

/**
 * The workflow's own tables in the `invoice_approval` schema: payments sent, vendor notices and exceptions
 * opened, each row keyed by the idempotency key of the call that wrote it. Idempotent; safe on every start.
 */
export async function setupLedger(sql: SqlClient): Promise<void> {
  await sql.transaction(async (transaction) => {
    await transaction.query("SELECT pg_advisory_xact_lock(hashtext($1))", [SETUP_LOCK]);
    await transaction.query("CREATE SCHEMA IF NOT EXISTS invoice_approval");
    await transaction.query(`CREATE TABLE IF NOT EXISTS invoice_approval.payments (
      id serial PRIMARY KEY,
      idempotency_key text NOT NULL UNIQUE,
      invoice_id text NOT NULL UNIQUE,
      po_number text NOT NULL,
      vendor text NOT NULL,
      amount_cents bigint NOT NULL,
      currency text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now())`);
    await transaction.query(`CREATE TABLE IF NOT EXISTS invoice_approval.notices (
      id serial PRIMARY KEY,
      idempotency_key text NOT NULL UNIQUE,
      invoice_id text NOT NULL,
      payment_id text NOT NULL,
      recipient text NOT NULL,
      message text NOT NULL)`);
    await transaction.query(`CREATE TABLE IF NOT EXISTS invoice_approval.exceptions (
      id serial PRIMARY KEY,
      idempotency_key text NOT NULL UNIQUE,
      invoice_id text NOT NULL,
      kind text NOT NULL,
      reason text NOT NULL)`);
  });
}

/**
 * Insert a row under the call's idempotency key, or return the row an earlier attempt with that key wrote; a key
 * reused for a different request is a conflict (`matches` says whether the stored row is the same request).
 */
export async function insertOnce<Row extends { id: number }>(options: {
  sql: SqlClient;
  table: string;
  columns: string;
  values: Record<string, unknown>;
  idempotencyKey: string;
  matches: (row: Row) => boolean;
}): Promise<Row> {
  const names = Object.keys(options.values);
  const placeholders = names.map((_name, index) => `$${index + 2}`).join(", ");
  const inserted = await options.sql.query<Row>(
    `INSERT INTO ${options.table} (idempotency_key, ${names.join(", ")}) VALUES ($1, ${placeholders})
     ON CONFLICT (idempotency_key) DO NOTHING RETURNING ${options.columns}`,
    [options.idempotencyKey, ...Object.values(options.values)],
  );
  const row = inserted.rows[0] ?? (await findOnce<Row>(options));
  if (!row)
    throw new KeelError("internal", `The ${options.table} row was neither written nor found; try again.`);
  return row;
}

/** The row written under this idempotency key (what a `reconcile` hook asks), or undefined when none was. */
export async function findOnce<Row extends { id: number }>(options: {
  sql: SqlClient;
  table: string;
  columns: string;
  idempotencyKey: string;
  matches: (row: Row) => boolean;
}): Promise<Row | undefined> {
  const row = (
    await options.sql.query<Row>(
      `SELECT ${options.columns} FROM ${options.table} WHERE idempotency_key = $1`,
      [options.idempotencyKey],
    )
  ).rows[0];
  if (row && !options.matches(row)) {
    throw new KeelError(
      "conflict",
      `Idempotency key ${options.idempotencyKey} was already used for a different request (${options.table} #${row.id}).`,
    );
  }
  return row;
}
