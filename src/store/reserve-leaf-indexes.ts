import type { SqlClient } from "./store.ts";

/**
 * Take the next `count` leaf indexes of the audit log, returning the first. Call it as the transaction's last
 * lock: the counter row stays locked until COMMIT, which is what makes the indexes commit-ordered and gapless
 * (migration 0007 says why), and keeps the span other writers wait for as short as the insert and the commit.
 */
export async function reserveLeafIndexes(tx: SqlClient, count: number): Promise<number> {
  const { rows } = await tx.query<{ size: number | string }>(
    "UPDATE keel_audit_log SET size = size + $1 RETURNING size",
    [count],
  );
  return Number(rows[0]!.size) - count;
}
