import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import {
  auditKeyId,
  CHECKPOINT_FORMAT,
  checkpointSignatureProblem,
  parseCheckpoint,
  publicKeyFromRaw,
  rawPublicKey,
  signCheckpoint,
} from "./checkpoint.ts";
import { fastCanonicalJson } from "./fast-canonical-json.ts";

const operator = generateKeyPairSync("ed25519");
const body = {
  format: CHECKPOINT_FORMAT,
  logId: "0b8e7f0e-log",
  treeSize: 42,
  rootHash: "ab".repeat(32),
  timestamp: "2026-11-21T10:00:00.000Z",
  keyId: auditKeyId(operator.publicKey),
} as const;

test("a signed checkpoint is its canonical body plus an Ed25519 signature that verifies with the named key", () => {
  const checkpoint = signCheckpoint(body, operator.privateKey);
  assert.equal(checkpoint.body, fastCanonicalJson(body));
  assert.deepEqual(parseCheckpoint(checkpoint), checkpoint);
  const trusted = new Map([[body.keyId, operator.publicKey]]);
  assert.equal(checkpointSignatureProblem(checkpoint, trusted), null);
  assert.match(checkpointSignatureProblem(checkpoint, new Map()) ?? "", /not a trusted key/);
  const other = generateKeyPairSync("ed25519");
  assert.match(
    checkpointSignatureProblem(checkpoint, new Map([[body.keyId, other.publicKey]])) ?? "",
    /does not verify/,
  );
});

test("a key id is recomputed from the raw public key, which round-trips through base64", () => {
  const raw = rawPublicKey(operator.publicKey);
  assert.equal(raw.length, 32);
  assert.equal(auditKeyId(publicKeyFromRaw(raw.toString("base64"))), body.keyId);
  assert.match(body.keyId, /^[0-9a-f]{16}$/);
  assert.throws(() => publicKeyFromRaw("AAAA"), /32 bytes/);
});

test("a malformed checkpoint is refused with the field named", () => {
  const signed = signCheckpoint(body, operator.privateKey);
  const withBody = (changes: Record<string, unknown>) => ({
    ...signed,
    body: fastCanonicalJson({ ...body, ...changes }),
  });
  assert.throws(() => parseCheckpoint(withBody({ treeSize: 0 })), /treeSize must be a positive integer/);
  assert.throws(() => parseCheckpoint(withBody({ rootHash: "AB".repeat(32) })), /rootHash must match/);
  assert.throws(() => parseCheckpoint(withBody({ format: "other/1" })), /format must be/);
  assert.throws(() => parseCheckpoint(withBody({ extra: 1 })), /extra is not a checkpoint field/);
  assert.throws(() => parseCheckpoint(withBody({ timestamp: "yesterday" })), /timestamp must match/);
  assert.throws(
    () => parseCheckpoint({ ...signed, body: JSON.stringify(body, null, 1) }),
    /body is not in canonical form/,
  );
  assert.throws(() => parseCheckpoint({ ...signed, signature: "c2ln" }), /signature must be 64 bytes/);
  assert.throws(() => parseCheckpoint({ ...signed, body: "{" }), /not JSON/);
});
