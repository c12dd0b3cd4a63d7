import { KeelError } from "../../errors/index.ts";
import { canonicalString, fastCanonicalJson } from "./fast-canonical-json.ts";
import { hashLeaf } from "./merkle-hash.ts";

/**
 * One leaf of the audit log: a journal event as stored, with the lease token that wrote it. The leaf's bytes
 * are the RFC 8785 canonical JSON of exactly these fields, so any change to a stored event changes its leaf.
 */
export type AuditLeaf = {
  runId: string;
  seq: number;
  type: string;
  at: string;
  payload: unknown;
  schemaVersion: number;
  payloadHash: string;
  prevHash: string;
  hash: string;
  leaseToken: number;
};

/** The field names of a leaf, in RFC 8785 order (UTF-16 code units). */
export const LEAF_FIELDS = [
  "at",
  "hash",
  "leaseToken",
  "payload",
  "payloadHash",
  "prevHash",
  "runId",
  "schemaVersion",
  "seq",
  "type",
] as const satisfies readonly (keyof AuditLeaf)[];

/**
 * The leaf's bytes: RFC 8785 canonical JSON of its ten fields. Written field by field in sorted order, since
 * this runs once per event on every verify; `payloadJson` may be passed when the caller already has it.
 */
export function encodeLeaf(leaf: AuditLeaf, payloadJson = fastCanonicalJson(leaf.payload)): string {
  return (
    `{"at":${canonicalString(leaf.at)},"hash":${canonicalString(leaf.hash)},` +
    `"leaseToken":${fastCanonicalJson(leaf.leaseToken)},"payload":${payloadJson},` +
    `"payloadHash":${canonicalString(leaf.payloadHash)},"prevHash":${canonicalString(leaf.prevHash)},` +
    `"runId":${canonicalString(leaf.runId)},"schemaVersion":${fastCanonicalJson(leaf.schemaVersion)},` +
    `"seq":${fastCanonicalJson(leaf.seq)},"type":${canonicalString(leaf.type)}}`
  );
}

/** The RFC 6962 leaf hash of an event: SHA-256(0x00 || canonical JSON). */
export function hashAuditLeaf(leaf: AuditLeaf): Buffer {
  return hashLeaf(encodeLeaf(leaf));
}

/**
 * Read a leaf back from its JSON (a bundle's events.jsonl line), checking every field's type and that nothing
 * else is there; errors name the field.
 */
export function parseAuditLeaf(value: unknown, where: string): AuditLeaf {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new KeelError("invalid_request", `${where}: an event must be a JSON object`);
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(LEAF_FIELDS as readonly string[]).includes(key)) {
      throw new KeelError("invalid_request", `${where}: unknown field "${key}"`, {
        issues: [{ path: key, message: "not a leaf field" }],
      });
    }
  }
  const text = (key: keyof AuditLeaf): string => {
    const field = record[key];
    if (typeof field !== "string") throw fieldError(where, key, "must be a string");
    return field;
  };
  const integer = (key: keyof AuditLeaf): number => {
    const field = record[key];
    if (typeof field !== "number" || !Number.isSafeInteger(field) || field < 0) {
      throw fieldError(where, key, "must be a non-negative integer");
    }
    return field;
  };
  if (!("payload" in record)) throw fieldError(where, "payload", "is missing");
  return {
    runId: text("runId"),
    seq: integer("seq"),
    type: text("type"),
    at: text("at"),
    payload: record.payload,
    schemaVersion: integer("schemaVersion"),
    payloadHash: text("payloadHash"),
    prevHash: text("prevHash"),
    hash: text("hash"),
    leaseToken: integer("leaseToken"),
  };
}

function fieldError(where: string, field: string, message: string): KeelError {
  return new KeelError("invalid_request", `${where}: ${field} ${message}`, {
    issues: [{ path: field, message }],
  });
}
