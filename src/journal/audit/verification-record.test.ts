import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import {
  auditKeyId,
  CHECKPOINT_FORMAT,
  checkpointSignatureProblem,
  parseCheckpoint,
  signCheckpoint,
} from "./checkpoint.ts";
import { fastCanonicalJson } from "./fast-canonical-json.ts";
import {
  checkpointsDigests,
  parseVerification,
  signVerification,
  VERIFICATION_FORMAT,
} from "./verification-record.ts";

const operator = generateKeyPairSync("ed25519");
const keyId = auditKeyId(operator.publicKey);
const body = {
  format: VERIFICATION_FORMAT,
  logId: "0b8e7f0e-log",
  treeSize: 42,
  rootHash: "ab".repeat(32),
  checkpointsHash: "cd".repeat(32),
  mode: "incremental",
  verifiedAt: "2026-12-05T10:00:00.000Z",
  keyId,
} as const;

test("a verification record is its canonical body plus an Ed25519 signature by the operator's key", () => {
  const record = signVerification(body, operator.privateKey);
  assert.equal(record.body, fastCanonicalJson(body));
  assert.deepEqual(parseVerification(record), record);
  assert.equal(checkpointSignatureProblem(record, new Map([[keyId, operator.publicKey]])), null);
  assert.match(checkpointSignatureProblem(record, new Map()) ?? "", /not a trusted key/);
});

test("a record's signature never passes for a checkpoint's, nor a checkpoint's for a record's", () => {
  const record = signVerification(body, operator.privateKey);
  assert.throws(() => parseCheckpoint(record), /is not a checkpoint field/);
  const checkpoint = signCheckpoint(
    {
      format: CHECKPOINT_FORMAT,
      logId: body.logId,
      treeSize: 42,
      rootHash: body.rootHash,
      timestamp: body.verifiedAt,
      keyId,
    },
    operator.privateKey,
  );
  assert.throws(() => parseVerification(checkpoint), /is not a verification record field/);
});

test("a malformed record is refused with the field named", () => {
  const signed = signVerification(body, operator.privateKey);
  const withBody = (changes: Record<string, unknown>) => ({
    ...signed,
    body: fastCanonicalJson({ ...body, ...changes }),
  });
  assert.throws(() => parseVerification(withBody({ treeSize: -1 })), /treeSize must be a positive integer/);
  assert.throws(() => parseVerification(withBody({ mode: "quick" })), /mode must be "full" or "incremental"/);
  assert.throws(() => parseVerification(withBody({ checkpointsHash: "x" })), /checkpointsHash must match/);
  assert.throws(() => parseVerification(withBody({ format: CHECKPOINT_FORMAT })), /format must be/);
  assert.throws(
    () => parseVerification({ ...signed, body: JSON.stringify(body, null, 1) }),
    /body is not in canonical form/,
  );
  assert.throws(() => parseVerification({ ...signed, signature: "c2ln" }), /signature must be 64 bytes/);
});

test("the checkpoints digest changes at and after any checkpoint removed, altered or reordered, and not before", () => {
  const checkpoints = [1, 2, 3, 4].map((size) => ({ body: `{"treeSize":${size}}`, signature: `s${size}` }));
  const digests = checkpointsDigests(checkpoints);
  assert.equal(new Set(digests).size, 4);
  const altered = checkpointsDigests(checkpoints.map((c, i) => (i === 2 ? { ...c, signature: "other" } : c)));
  assert.deepEqual(altered.slice(0, 2), digests.slice(0, 2));
  assert.notEqual(altered[2], digests[2]);
  assert.notEqual(altered[3], digests[3]);
  assert.notEqual(checkpointsDigests([checkpoints[0]!, checkpoints[2]!, checkpoints[3]!])[2], digests[3]);
  assert.notEqual(checkpointsDigests([checkpoints[1]!, checkpoints[0]!])[1], digests[1]);
});
