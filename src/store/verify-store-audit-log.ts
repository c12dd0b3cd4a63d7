import type { KeyObject } from "node:crypto";
import { type AuditVerdict, verifyAuditLog } from "../journal/audit/verify-audit-log.ts";
import { readAuditKeys } from "./audit-keys.ts";
import { leafPages, readAuditHead, readCheckpoints, readRunHeads } from "./audit-log-queries.ts";
import type { SqlClient } from "./store.ts";

/** A store's verdict, and which keys it was checked against. */
export type StoreAuditVerdict = AuditVerdict & { logId: string; keyIds: string[]; pinned: boolean };

/**
 * Check a store's audit log end to end from what is stored: every event's hashes and run chain, every run's
 * head, the tree at every checkpoint, every signature. `trustedKeys` pins the operator's public keys; without
 * them the keys registered in the store itself are trusted, which proves the log unchanged since signing only
 * to someone who trusts the database's key table (the verdict says which it was).
 */
export async function verifyStoreAuditLog(
  sql: SqlClient,
  options: { trustedKeys?: ReadonlyMap<string, KeyObject>; threads?: number; maxProblems?: number } = {},
): Promise<StoreAuditVerdict> {
  const head = await readAuditHead(sql);
  const trustedKeys = options.trustedKeys ?? (await readAuditKeys(sql));
  const verdict = await verifyAuditLog({
    pages: leafPages(sql, { size: head.size }),
    checkpoints: await readCheckpoints(sql),
    trustedKeys,
    logId: head.logId,
    expectedSize: head.size,
    runHeads: await readRunHeads(sql),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.maxProblems === undefined ? {} : { maxProblems: options.maxProblems }),
  });
  return {
    ...verdict,
    logId: head.logId,
    keyIds: [...trustedKeys.keys()],
    pinned: options.trustedKeys !== undefined,
  };
}
