import type { SqlClient } from "./store.ts";

/** How long a listener's row lives without renewal, and how often a live store renews it. */
export const LISTENER_TTL_MS = 60_000;
export const LISTENER_RENEW_MS = 20_000;

/**
 * Announce that this store LISTENs, so writers in other processes (and other stores on the same database) send
 * NOTIFY for it (migration 0013). Call it after LISTEN succeeded and wake every waiter once it returns.
 *
 * Why no notification is lost: a writer reads `keel_listeners` under ACCESS SHARE, held until its COMMIT. This takes
 * ACCESS EXCLUSIVE, so it waits until every writer that already looked (and found nobody) has committed; a writer
 * that looks later waits for this commit and then sees the row. So once this returns, whatever a writer skipped
 * notifying is already committed, and the waiters' re-check finds it.
 */
export async function registerListener(sql: SqlClient, listenerId: string): Promise<void> {
  await sql.transaction(async (tx) => {
    await tx.query("LOCK TABLE keel_listeners IN ACCESS EXCLUSIVE MODE");
    // Rows of listeners that stopped renewing (a crashed process) go at the same time.
    await tx.query("DELETE FROM keel_listeners WHERE expires_at <= clock_timestamp()");
    await tx.query(
      `INSERT INTO keel_listeners (listener_id, expires_at)
       VALUES ($1, clock_timestamp() + $2::float8 * interval '1 millisecond')
       ON CONFLICT (listener_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
      [listenerId, LISTENER_TTL_MS],
    );
  });
}

/**
 * Extend this store's row; false when it had already expired (the process stalled past the TTL), when writers may
 * have skipped notifications: the caller registers again and wakes its waiters.
 */
export async function renewListener(sql: SqlClient, listenerId: string): Promise<boolean> {
  const { rows } = await sql.query(
    `UPDATE keel_listeners SET expires_at = clock_timestamp() + $2::float8 * interval '1 millisecond'
      WHERE listener_id = $1 AND expires_at > clock_timestamp()
      RETURNING listener_id`,
    [listenerId, LISTENER_TTL_MS],
  );
  return rows.length > 0;
}

/** Remove this store's row when it stops listening. */
export async function unregisterListener(sql: SqlClient, listenerId: string): Promise<void> {
  await sql.query("DELETE FROM keel_listeners WHERE listener_id = $1", [listenerId]);
}
