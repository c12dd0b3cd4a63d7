import { hash, type KeyObject, sign } from "node:crypto";
import { KeelError } from "../../errors/index.ts";
import type { SignedCheckpoint } from "./checkpoint.ts";
import { fastCanonicalJson } from "./fast-canonical-json.ts";

/** The format tag of a verification record; distinct from a checkpoint's, so neither signature passes as the other. */
export const VERIFICATION_FORMAT = "keel-audit-verification/1";

/**
 * What a verification record states: every leaf up to the signed checkpoint (`treeSize`, `rootHash`) was
 * recomputed and matched on `verifiedAt`, with `checkpointsHash` summing up the checkpoints up to it as they were.
 */
export type VerificationBody = {
  format: typeof VERIFICATION_FORMAT;
  logId: string;
  treeSize: number;
  rootHash: string;
  /** `checkpointsDigest` of every stored checkpoint up to `treeSize`, so a later change to one of them shows. */
  checkpointsHash: string;
  /** Whether this verification re-read the whole log or continued from an earlier record. */
  mode: "full" | "incremental";
  verifiedAt: string;
  /** The key that signed the record: the log operator's checkpoint key. */
  keyId: string;
};

/** A record as stored: the exact signed bytes and the Ed25519 signature over them, base64. */
export type SignedVerification = { body: string; signature: string };

/** A record read back: its fields and the bytes they came from. */
export type Verification = VerificationBody & SignedVerification;

const HEX_64 = /^[0-9a-f]{64}$/;
const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const FIELDS = ["checkpointsHash", "format", "keyId", "logId", "mode", "rootHash", "treeSize", "verifiedAt"];

/** Sign a record with the log operator's key: Ed25519 over the UTF-8 bytes of its canonical JSON. */
export function signVerification(body: VerificationBody, privateKey: KeyObject): Verification {
  const text = fastCanonicalJson(body);
  const signature = sign(null, Buffer.from(text, "utf8"), privateKey).toString("base64");
  return { ...body, body: text, signature };
}

/**
 * Read a stored record: canonical JSON with exactly its eight fields, each well formed. Throws a KeelError naming
 * the field; the signature is checked with `checkpointSignatureProblem`, which takes any signed body with a key id.
 */
export function parseVerification(signed: SignedVerification): Verification {
  let parsed: unknown;
  try {
    parsed = JSON.parse(signed.body);
  } catch {
    throw new KeelError("invalid_request", "verification record body is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new KeelError("invalid_request", "verification record body must be a JSON object");
  }
  const record = parsed as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!FIELDS.includes(key)) throw recordError(key, "is not a verification record field");
  }
  if (record.format !== VERIFICATION_FORMAT) throw recordError("format", `must be "${VERIFICATION_FORMAT}"`);
  const text = (key: string, pattern?: RegExp): string => {
    const value = record[key];
    if (typeof value !== "string" || value.length === 0) throw recordError(key, "must be a non-empty string");
    if (pattern && !pattern.test(value)) throw recordError(key, `must match ${pattern}`);
    return value;
  };
  const treeSize = record.treeSize;
  if (typeof treeSize !== "number" || !Number.isSafeInteger(treeSize) || treeSize < 1) {
    throw recordError("treeSize", "must be a positive integer");
  }
  if (record.mode !== "full" && record.mode !== "incremental") {
    throw recordError("mode", 'must be "full" or "incremental"');
  }
  const body: VerificationBody = {
    format: VERIFICATION_FORMAT,
    logId: text("logId"),
    treeSize,
    rootHash: text("rootHash", HEX_64),
    checkpointsHash: text("checkpointsHash", HEX_64),
    mode: record.mode,
    verifiedAt: text("verifiedAt", ISO_UTC_MS),
    keyId: text("keyId", /^[0-9a-f]{16}$/),
  };
  if (fastCanonicalJson(body) !== signed.body) throw recordError("body", "is not in canonical form");
  if (typeof signed.signature !== "string" || !/^[A-Za-z0-9+/]{86}==$/.test(signed.signature)) {
    throw recordError("signature", "must be 64 bytes, base64");
  }
  return { ...body, body: signed.body, signature: signed.signature };
}

/**
 * A running digest of the checkpoints in tree order: entry i is SHA-256 of entry i − 1 (64 zeros before the
 * first), a newline, checkpoint i's body, a newline and its signature. A record keeps the entry at its size, so
 * removing, adding or changing any checkpoint up to it changes that entry.
 */
export function checkpointsDigests(checkpoints: readonly SignedCheckpoint[]): string[] {
  const digests: string[] = [];
  let previous = "0".repeat(64);
  for (const checkpoint of checkpoints) {
    previous = hash("sha256", `${previous}\n${checkpoint.body}\n${checkpoint.signature}`, "hex");
    digests.push(previous);
  }
  return digests;
}

function recordError(field: string, message: string): KeelError {
  return new KeelError("invalid_request", `verification record ${field} ${message}`, {
    issues: [{ path: field, message }],
  });
}
