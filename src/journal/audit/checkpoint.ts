import { createHash, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { KeelError } from "../../errors/index.ts";
import { fastCanonicalJson } from "./fast-canonical-json.ts";

/** The format tag every checkpoint body carries; a verifier refuses any other. */
export const CHECKPOINT_FORMAT = "keel-audit-checkpoint/1";

/** What a checkpoint states: this log had `treeSize` leaves with root `rootHash` at `timestamp`. */
export type CheckpointBody = {
  format: typeof CHECKPOINT_FORMAT;
  logId: string;
  treeSize: number;
  /** MTH of the first `treeSize` leaves, lowercase hex. */
  rootHash: string;
  /** When it was signed, ISO 8601 UTC with milliseconds. */
  timestamp: string;
  /** Which key signed it: see `auditKeyId`. */
  keyId: string;
};

/** A checkpoint as stored and exported: the exact signed bytes (canonical JSON) and the Ed25519 signature. */
export type SignedCheckpoint = { body: string; signature: string };

/** A signed checkpoint read back: its fields, and the bytes and signature they came from. */
export type Checkpoint = CheckpointBody & SignedCheckpoint;

const HEX_64 = /^[0-9a-f]{64}$/;
const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The key id of an Ed25519 public key: the first 16 hex digits of SHA-256 over its 32 raw bytes. A verifier
 * recomputes it from the key it was given, so a checkpoint cannot name one key and be signed by another.
 */
export function auditKeyId(publicKey: KeyObject): string {
  return createHash("sha256").update(rawPublicKey(publicKey)).digest("hex").slice(0, 16);
}

/** The 32 raw bytes of an Ed25519 public key (RFC 8032), as a JWK's `x` carries them. */
export function rawPublicKey(publicKey: KeyObject): Buffer {
  if (publicKey.asymmetricKeyType !== "ed25519") {
    throw new KeelError("invalid_request", "the audit log signs with Ed25519 keys only");
  }
  const jwk = publicKey.export({ format: "jwk" });
  return Buffer.from(jwk.x ?? "", "base64url");
}

/** An Ed25519 public key from its 32 raw bytes, base64-encoded (a bundle's `publicKey`). */
export function publicKeyFromRaw(base64: string): KeyObject {
  const raw = Buffer.from(base64, "base64");
  if (raw.length !== 32)
    throw new KeelError("invalid_request", "publicKey must be 32 bytes of Ed25519, base64");
  return createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") },
    format: "jwk",
  });
}

/** Sign a checkpoint body with the log's key: Ed25519 over the UTF-8 bytes of its canonical JSON. */
export function signCheckpoint(body: CheckpointBody, privateKey: KeyObject): Checkpoint {
  const text = fastCanonicalJson(body);
  const signature = sign(null, Buffer.from(text, "utf8"), privateKey).toString("base64");
  return { ...body, body: text, signature };
}

/**
 * Read a stored or exported checkpoint: the body must be canonical JSON with exactly the six fields, each well
 * formed. Throws a KeelError naming the field; the signature is checked separately by `checkpointSignatureOk`.
 */
export function parseCheckpoint(signed: SignedCheckpoint): Checkpoint {
  let parsed: unknown;
  try {
    parsed = JSON.parse(signed.body);
  } catch {
    throw new KeelError("invalid_request", "checkpoint body is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new KeelError("invalid_request", "checkpoint body must be a JSON object");
  }
  const record = parsed as Record<string, unknown>;
  const fields = ["format", "keyId", "logId", "rootHash", "timestamp", "treeSize"];
  for (const key of Object.keys(record)) {
    if (!fields.includes(key)) throw checkpointError(key, "is not a checkpoint field");
  }
  if (record.format !== CHECKPOINT_FORMAT) throw checkpointError("format", `must be "${CHECKPOINT_FORMAT}"`);
  const text = (key: string, pattern?: RegExp): string => {
    const value = record[key];
    if (typeof value !== "string" || value.length === 0)
      throw checkpointError(key, "must be a non-empty string");
    if (pattern && !pattern.test(value)) throw checkpointError(key, `must match ${pattern}`);
    return value;
  };
  const treeSize = record.treeSize;
  if (typeof treeSize !== "number" || !Number.isSafeInteger(treeSize) || treeSize < 1) {
    throw checkpointError("treeSize", "must be a positive integer");
  }
  const body: CheckpointBody = {
    format: CHECKPOINT_FORMAT,
    logId: text("logId"),
    treeSize,
    rootHash: text("rootHash", HEX_64),
    timestamp: text("timestamp", ISO_UTC_MS),
    keyId: text("keyId", /^[0-9a-f]{16}$/),
  };
  if (fastCanonicalJson(body) !== signed.body) throw checkpointError("body", "is not in canonical form");
  if (typeof signed.signature !== "string" || !/^[A-Za-z0-9+/]{86}==$/.test(signed.signature)) {
    throw checkpointError("signature", "must be 64 bytes, base64");
  }
  return { ...body, body: signed.body, signature: signed.signature };
}

/**
 * Whether the checkpoint (or a verification record) was signed by the key it names, and that key is one the
 * verifier trusts. Null when it was; otherwise what is wrong.
 */
export function checkpointSignatureProblem(
  checkpoint: Pick<Checkpoint, "keyId" | "body" | "signature">,
  trustedKeys: ReadonlyMap<string, KeyObject>,
): string | null {
  const key = trustedKeys.get(checkpoint.keyId);
  if (!key) return `signed with key ${checkpoint.keyId}, which is not a trusted key of this log`;
  const ok = verify(
    null,
    Buffer.from(checkpoint.body, "utf8"),
    key,
    Buffer.from(checkpoint.signature, "base64"),
  );
  return ok ? null : `the signature does not verify with key ${checkpoint.keyId}`;
}

/** Whether a checkpoint's signature verifies with one given public key. */
export function verifyCheckpointSignatureWith(checkpoint: SignedCheckpoint, publicKey: KeyObject): boolean {
  return verify(
    null,
    Buffer.from(checkpoint.body, "utf8"),
    publicKey,
    Buffer.from(checkpoint.signature, "base64"),
  );
}

function checkpointError(field: string, message: string): KeelError {
  return new KeelError("invalid_request", `checkpoint ${field} ${message}`, {
    issues: [{ path: field, message }],
  });
}
