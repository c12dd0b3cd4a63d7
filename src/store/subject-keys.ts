import { randomBytes, randomUUID } from "node:crypto";
import { canonicalJson, type JournalEvent } from "../journal/index.ts";
import {
  erasePersonalFields,
  openPersonalFields,
  type SubjectKey,
  sealedKeyIds,
  sealPersonalFields,
} from "./seal-personal-fields.ts";
import type { SqlClient } from "./store.ts";
import type { ValidatedEvent } from "./validate-new-events.ts";

/**
 * The subject's key in the tenant, made on first use (migration 0026). Two callers making it at once get the same
 * key: the loser of the insert reads the winner's.
 */
export async function ensureSubjectKey(sql: SqlClient, tenant: string, subject: string): Promise<SubjectKey> {
  const inserted = await sql.query<{ key_id: string; key: Uint8Array }>(
    `INSERT INTO keel_subject_keys (key_id, tenant, subject, key) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant, subject) DO NOTHING RETURNING key_id, key`,
    [`sk_${randomUUID()}`, tenant, subject, randomBytes(32)],
  );
  const row =
    inserted.rows[0] ??
    (
      await sql.query<{ key_id: string; key: Uint8Array }>(
        "SELECT key_id, key FROM keel_subject_keys WHERE tenant = $1 AND subject = $2",
        [tenant, subject],
      )
    ).rows[0]!;
  return { keyId: row.key_id, key: Buffer.from(row.key) };
}

/** The keys still held among `keyIds`; an erased subject's is simply absent. */
export async function readSubjectKeys(
  sql: SqlClient,
  keyIds: Iterable<string>,
): Promise<Map<string, Buffer>> {
  const ids = [...new Set(keyIds)];
  if (ids.length === 0) return new Map();
  const { rows } = await sql.query<{ key_id: string; key: Uint8Array }>(
    "SELECT key_id, key FROM keel_subject_keys WHERE key_id = ANY($1::text[])",
    [ids],
  );
  return new Map(rows.map((row) => [row.key_id, Buffer.from(row.key)]));
}

/**
 * Seal the personal fields of events appended to a run with a data subject: each event keeps its plain payload (what
 * the caller gets back) and gets the sealed canonical JSON as what is stored and hashed. When the subject was erased
 * while the run went on, its personal fields are stored as erased: there is no key left to seal them for.
 */
export async function sealEvents(
  sql: SqlClient,
  keyId: string,
  events: readonly ValidatedEvent[],
): Promise<ValidatedEvent[]> {
  const key = (await readSubjectKeys(sql, [keyId])).get(keyId);
  return events.map((event) => {
    const sealed = key
      ? sealPersonalFields(event.type, event.payload, { keyId, key })
      : erasePersonalFields(event.type, event.payload);
    return sealed === event.payload ? event : { ...event, payloadJson: canonicalJson(sealed) };
  });
}

/** Open the sealed fields of events read from the journal: plain while their keys exist, `{"erased": true}` after. */
export async function openEvents(sql: SqlClient, events: JournalEvent[]): Promise<JournalEvent[]> {
  const keyIds = new Set<string>();
  for (const event of events) sealedKeyIds(event.type, event.payload, keyIds);
  if (keyIds.size === 0) return events;
  const keys = await readSubjectKeys(sql, keyIds);
  return events.map((event) => {
    const payload = openPersonalFields(event.type, event.payload, keys);
    return payload === event.payload ? event : ({ ...event, payload } as JournalEvent);
  });
}

/** Open one payload of a known type read straight from `keel_events` by SQL. */
export async function openPayload<T>(sql: SqlClient, type: string, payload: T): Promise<T> {
  const keyIds = new Set<string>();
  sealedKeyIds(type, payload, keyIds);
  if (keyIds.size === 0) return payload;
  return openPersonalFields(type, payload, await readSubjectKeys(sql, keyIds)) as T;
}
