import { KeelError } from "../errors/index.ts";
import {
  GENESIS_HASH,
  hashCanonicalJson,
  hashEvent,
  JOURNAL_SCHEMA_VERSION,
  type PayloadOf,
} from "../journal/index.ts";
import { RUN_COLUMNS, type RunRow, toRunRecord } from "./run-rows.ts";
import type { CreateRunOptions, RunRecord } from "./store.ts";
import type { StoreDriver } from "./store-driver.ts";
import { validateNewEvents } from "./validate-new-events.ts";

/**
 * Write a queued run and its `run-start` event (seq 1, linked to the genesis hash) in one transaction, or
 * return the run that already holds this agent's idempotency key. Concurrent callers with one key get one
 * run: `ON CONFLICT DO NOTHING` waits for the other insert to commit, then this one reads it.
 */
export async function insertRun(
  driver: StoreDriver,
  options: CreateRunOptions,
  notifyAs: string,
): Promise<{ run: RunRecord; created: boolean }> {
  const [start] = validateNewEvents([{ type: "run-start", payload: options.start }]);
  const payload = start!.payload as PayloadOf<"run-start">;
  const fields = {
    runId: options.runId,
    seq: 1,
    type: "run-start",
    at: new Date().toISOString(),
    payloadHash: hashCanonicalJson(start!.payloadJson),
    prevHash: GENESIS_HASH,
  };
  const hash = hashEvent(fields);
  const idempotencyKey = options.idempotencyKey ?? null;
  return await driver.transaction(async (tx) => {
    const inserted = await tx.query<RunRow>(
      `INSERT INTO keel_runs
         (run_id, agent, agent_version, status, input, principal, last_seq, last_hash, idempotency_key,
        lease_owner, lease_token, lease_expires_at, tenant)
       VALUES ($1, $2, $3, 'queued', $4, $5::text::jsonb, 1, $6, $7,
        $8::text, CASE WHEN $8::text IS NULL THEN 0 ELSE 1 END,
        CASE WHEN $8::text IS NULL THEN NULL ELSE clock_timestamp() + $9::float8 * interval '1 millisecond' END,
        $10)
       ON CONFLICT DO NOTHING
       RETURNING ${RUN_COLUMNS}`,
      [
        options.runId,
        payload.agent,
        payload.agentVersion,
        payload.input,
        JSON.stringify(payload.principal),
        hash,
        idempotencyKey,
        options.leaseTo?.owner ?? null,
        options.leaseTo?.ttlMs ?? 0,
        payload.principal.tenant,
      ],
    );
    const row = inserted.rows[0];
    if (row) {
      await tx.query(
        `INSERT INTO keel_events
           (run_id, seq, type, at, payload, schema_version, payload_hash, prev_hash, hash, lease_token)
         VALUES ($1, 1, 'run-start', $2::timestamptz, $3::text::jsonb, $4, $5, $6, $7, 0)`,
        [
          fields.runId,
          fields.at,
          start!.payloadJson,
          JOURNAL_SCHEMA_VERSION,
          fields.payloadHash,
          GENESIS_HASH,
          hash,
        ],
      );
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
