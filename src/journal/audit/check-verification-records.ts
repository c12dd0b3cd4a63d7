import type { KeyObject } from "node:crypto";
import type { KeelError } from "../../errors/index.ts";
import {
  type Checkpoint,
  checkpointSignatureProblem,
  parseCheckpoint,
  type SignedCheckpoint,
} from "./checkpoint.ts";
import {
  checkpointsDigests,
  parseVerification,
  type SignedVerification,
  type Verification,
} from "./verification-record.ts";
import type { AuditProblem } from "./verify-audit-log.ts";

/** The newest trustworthy verification and the signed checkpoint it names: where an incremental verify starts. */
export type VerificationAnchor = { record: Verification; checkpoint: Checkpoint };

/**
 * Hold every stored verification record to the log as it is now and return the newest that passes, or null. A
 * record passes when it is well formed, its signature verifies with a trusted key, it names this log, the signed
 * checkpoint it names is still stored unchanged (same size and root, its own signature trusted), and the
 * checkpoints up to it still hash to the digest it recorded. Anything else is reported: a record that fails its
 * signature was forged or altered; one that names more leaves than the log holds, or a checkpoint that is gone or
 * different, shows the log was cut back or its checkpoints rewritten after it was verified.
 */
export function checkVerificationRecords(options: {
  records: readonly SignedVerification[];
  /** Every stored checkpoint, in tree order, exactly as stored. */
  checkpoints: readonly SignedCheckpoint[];
  trustedKeys: ReadonlyMap<string, KeyObject>;
  logId: string;
  /** The log's current size (its counter). */
  size: number;
  report: (problem: AuditProblem) => void;
}): VerificationAnchor | null {
  const { report } = options;
  const digests = checkpointsDigests(options.checkpoints);
  const bySize = new Map<number, { checkpoint: Checkpoint; digest: string }>();
  options.checkpoints.forEach((signed, index) => {
    try {
      const checkpoint = parseCheckpoint(signed);
      bySize.set(checkpoint.treeSize, { checkpoint, digest: digests[index]! });
    } catch {
      // A malformed checkpoint is reported by the checkpoint checks; no record can stand on it.
    }
  });
  let best: VerificationAnchor | null = null;
  for (const signed of options.records) {
    let record: Verification;
    try {
      record = parseVerification(signed);
    } catch (error) {
      report({
        kind: "verification",
        message: `a verification record is malformed: ${(error as KeelError).message}`,
      });
      continue;
    }
    const what = `the verification record of ${record.verifiedAt} (checkpoint ${record.treeSize})`;
    const signatureProblem = checkpointSignatureProblem(record, options.trustedKeys);
    if (signatureProblem) {
      report({
        kind: "verification",
        treeSize: record.treeSize,
        message: `${what} is forged or altered: ${signatureProblem}`,
      });
      continue;
    }
    if (record.logId !== options.logId) {
      report({
        kind: "verification",
        treeSize: record.treeSize,
        message: `${what} is for log ${record.logId}, not ${options.logId}`,
      });
      continue;
    }
    if (record.treeSize > options.size) {
      report({
        kind: "verification",
        treeSize: record.treeSize,
        message: `${what} saw ${record.treeSize} leaves but the log now counts ${options.size}: it was cut back`,
      });
      continue;
    }
    const named = bySize.get(record.treeSize);
    if (!named || named.checkpoint.rootHash !== record.rootHash) {
      report({
        kind: "verification",
        treeSize: record.treeSize,
        message: `${what} names a signed checkpoint that is ${named ? "now different" : "no longer stored"}: the log's checkpoints were rewritten or cut back`,
      });
      continue;
    }
    if (named.digest !== record.checkpointsHash) {
      report({
        kind: "verification",
        treeSize: record.treeSize,
        message: `${what}: a checkpoint up to ${record.treeSize} was removed, added or altered since`,
      });
      continue;
    }
    if (checkpointSignatureProblem(named.checkpoint, options.trustedKeys)) continue;
    if (!best || record.treeSize > best.record.treeSize) best = { record, checkpoint: named.checkpoint };
  }
  return best;
}
