import { KeelError } from "../../../src/errors/keel-error.ts";
import type { SqlClient } from "../../../src/store/store.ts";

/**
 * Insert a row keyed by the call's idempotency key, or return the row an earlier attempt with the same key
 * wrote. A key reused for a different request is a conflict: `matches` says whether the stored row is the
 * same request.
 */
export async function insertOnce<Row extends { id: number }>(options: {
  sql: SqlClient;
  table: string;
  columns: string;
  insert: { columns: readonly string[]; values: readonly unknown[] };
  idempotencyKey: string;
  what: string;
  matches: (row: Row) => boolean;
}): Promise<Row> {
  const { sql, table, columns, insert, idempotencyKey, what } = options;
  const placeholders = insert.values.map((_value, index) => `$${index + 2}`).join(", ");
  const inserted = await sql.query<Row>(
    `INSERT INTO ${table} (idempotency_key, ${insert.columns.join(", ")})
     VALUES ($1, ${placeholders})
     ON CONFLICT (idempotency_key) DO NOTHING
     RETURNING ${columns}`,
    [idempotencyKey, ...insert.values],
  );
  const row =
    inserted.rows[0] ??
    (await findOnce<Row>({ sql, table, columns, idempotencyKey, what, matches: options.matches }));
  if (!row) throw new KeelError("internal", `The ${what} was neither written nor found; try again.`);
  return row;
}

/**
 * The row written under this idempotency key, or undefined when none was: how a tool's `reconcile` hook finds
 * out whether an attempt whose outcome was never recorded took effect. A row of a different request is a conflict.
 */
export async function findOnce<Row extends { id: number }>(options: {
  sql: SqlClient;
  table: string;
  columns: string;
  idempotencyKey: string;
  what: string;
  matches: (row: Row) => boolean;
}): Promise<Row | undefined> {
  const { sql, table, columns, idempotencyKey, what } = options;
  const row = (
    await sql.query<Row>(`SELECT ${columns} FROM ${table} WHERE idempotency_key = $1`, [idempotencyKey])
  ).rows[0];
  if (row && !options.matches(row)) {
    throw new KeelError(
      "conflict",
      `Idempotency key ${idempotencyKey} was already used for a different ${what} (#${row.id}).`,
    );
  }
  return row;
}
