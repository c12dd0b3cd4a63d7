import type { KeyObject } from "node:crypto";
import {
  type AuditProblem,
  type AuditVerdict,
  checkpointsDigests,
  checkVerificationRecords,
  type Peak,
  signVerification,
  TreeFrontier,
  VERIFICATION_FORMAT,
  type Verification,
  type VerificationAnchor,
  type VerifyAuditLogOptions,
  verifyAuditLog,
} from "../journal/index.ts";
import { assignLeafIndexes } from "./assign-leaf-indexes.ts";
import { type AuditSigner, readAuditKeys } from "./audit-keys.ts";
import { leafPages, readAuditHead, readCheckpoints, readRunHeads } from "./audit-log-queries.ts";
import {
  countLeavesBelow,
  insertVerificationRecord,
  readFrontierAt,
  readRunsAfter,
  readVerificationRecords,
} from "./audit-verifications.ts";
import type { SqlClient } from "./store.ts";

/** A store's verdict, which keys it was checked against, how much was re-read, and what was recorded. */
export type StoreAuditVerdict = AuditVerdict & {
  logId: string;
  keyIds: string[];
  pinned: boolean;
  mode: "full" | "incremental";
  /** Why every leaf was re-read although an incremental verify was asked for. */
  fullBecause: string | null;
  /** The verification an incremental verify continued from. */
  continuedFrom: { treeSize: number; verifiedAt: string; mode: "full" | "incremental" } | null;
  /** The record this verification left, or why it left none. */
  recorded: Verification | null;
  notRecorded: string | null;
};

/** How to verify a store's audit log. */
export type VerifyStoreAuditLogOptions = {
  /** The operator's public keys; without them the keys registered in the store are trusted. */
  trustedKeys?: ReadonlyMap<string, KeyObject>;
  /**
   * Continue from the newest signed verification record instead of leaf 0 (falling back to a full verify when
   * there is none that holds). Off by default: a full verify is the one that re-hashes every event.
   */
  incremental?: boolean;
  /** Sign and keep a verification record after a clean verdict (the operator's checkpoint key). */
  signer?: AuditSigner;
  now?: () => Date;
  threads?: number;
  maxProblems?: number;
};

/**
 * Check a store's audit log from what is stored. Full: every event's hashes and run chain, every run's head, the
 * tree at every checkpoint, every signature, and that every stored event is a leaf or queued to become one.
 * Incremental: the same for every leaf after the checkpoint named by
 * the newest verification record that holds (`checkVerificationRecords`), continuing the tree from that signed
 * root and each run's chain from its last event before it; the leaves before it are counted, not re-read.
 * Both hold every stored verification record to the log. `trustedKeys` pins the operator's public keys; without
 * them the keys registered in the store itself are trusted, which proves the log unchanged since signing only to
 * someone who trusts the database's key table (the verdict says which it was).
 */
export async function verifyStoreAuditLog(
  sql: SqlClient,
  options: VerifyStoreAuditLogOptions = {},
): Promise<StoreAuditVerdict> {
  // Number what the sequencer has not reached yet, so every event committed before this verify is a leaf of it.
  await assignLeafIndexes(sql);
  // Records, then checkpoints, then the counter: each names only what was already there when it was written, so
  // a verify or checkpointer running meanwhile cannot make a record or checkpoint look newer than the log.
  const records = await readVerificationRecords(sql);
  const checkpoints = await readCheckpoints(sql);
  const head = await readAuditHead(sql);
  const trustedKeys = options.trustedKeys ?? (await readAuditKeys(sql));
  const recordProblems: AuditProblem[] = [];
  const chosen = checkVerificationRecords({
    records,
    checkpoints,
    trustedKeys,
    logId: head.logId,
    size: head.size,
    report: (problem) => recordProblems.push(problem),
  });
  let fullBecause: string | null = null;
  let anchor: Exclude<Awaited<ReturnType<typeof startFrom>>, string> | null = null;
  if (!options.incremental) fullBecause = "a full verify was asked for";
  else if (recordProblems.length > 0) fullBecause = "the verification records do not hold";
  else if (!chosen) fullBecause = "no earlier verification is recorded";
  else {
    const start = await startFrom(sql, chosen, head.size);
    if (typeof start === "string") fullBecause = start;
    else anchor = start;
  }
  const verdict = await verifyAuditLog({
    pages: leafPages(sql, {
      from: anchor?.anchor.checkpoint.treeSize ?? 0,
      size: head.size,
      // A full verify also finds events written past the store that no leaf stands for.
      unnumbered: !anchor,
    }),
    checkpoints,
    trustedKeys,
    logId: head.logId,
    expectedSize: head.size,
    runHeads: anchor?.heads ?? (await readRunHeads(sql)),
    ...(anchor ? { anchor: anchor.anchor } : {}),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.maxProblems === undefined ? {} : { maxProblems: options.maxProblems }),
  });
  const maxProblems = options.maxProblems ?? 20;
  const problemCount = verdict.problemCount + recordProblems.length;
  const merged: AuditVerdict = {
    ...verdict,
    ok: problemCount === 0,
    latest: problemCount === 0 ? verdict.latest : null,
    problems: [...recordProblems, ...verdict.problems].slice(0, maxProblems),
    problemCount,
  };
  const { recorded, notRecorded } = await record(sql, merged, {
    ...options,
    logId: head.logId,
    trustedKeys,
    checkpoints,
    previous: chosen?.record.treeSize ?? 0,
    mode: anchor ? "incremental" : "full",
  });
  return {
    ...merged,
    logId: head.logId,
    keyIds: [...trustedKeys.keys()],
    pinned: options.trustedKeys !== undefined,
    mode: anchor ? "incremental" : "full",
    fullBecause,
    continuedFrom:
      anchor && chosen
        ? { treeSize: chosen.record.treeSize, verifiedAt: chosen.record.verifiedAt, mode: chosen.record.mode }
        : null,
    recorded,
    notRecorded,
  };
}

/**
 * Where an incremental verify starts from the record's checkpoint: the tree's right edge there (the stored
 * frontier, a cache, trusted only because it folds to the signed root) and each continuing run's chain. A string
 * says why it cannot, and a full verify is done instead.
 */
async function startFrom(
  sql: SqlClient,
  chosen: VerificationAnchor,
  logSize: number,
): Promise<
  | {
      anchor: NonNullable<VerifyAuditLogOptions["anchor"]>;
      heads: Map<string, { lastSeq: number; lastHash: string }>;
    }
  | string
> {
  const size = chosen.checkpoint.treeSize;
  const stored = await readFrontierAt(sql, size);
  let peaks: Peak[] = [];
  try {
    peaks = (stored ?? []).map((peak) => ({ ...peak, hash: Buffer.from(peak.hash, "hex") }));
    const frontier = new TreeFrontier({ peaks, size });
    if (frontier.root().toString("hex") !== chosen.checkpoint.rootHash) throw new Error("another root");
  } catch {
    return `the tree's edge stored at checkpoint ${size} does not fold to its signed root`;
  }
  const below = await countLeavesBelow(sql, size);
  if (below !== size) return `${below} leaves are stored below the verified checkpoint ${size}`;
  const runs = await readRunsAfter(sql, size, logSize);
  return { anchor: { checkpoint: chosen.checkpoint, peaks, runs: runs.before }, heads: runs.heads };
}

/** Sign and keep a record of a clean verdict that reached a checkpoint newer than the record it started from. */
async function record(
  sql: SqlClient,
  verdict: AuditVerdict,
  options: VerifyStoreAuditLogOptions & {
    logId: string;
    trustedKeys: ReadonlyMap<string, KeyObject>;
    checkpoints: Awaited<ReturnType<typeof readCheckpoints>>;
    previous: number;
    mode: "full" | "incremental";
  },
): Promise<{ recorded: Verification | null; notRecorded: string | null }> {
  const { signer } = options;
  const latest = verdict.latest;
  if (!signer) return { recorded: null, notRecorded: "no signing key was given" };
  if (!verdict.ok) return { recorded: null, notRecorded: "the log did not verify" };
  if (!latest) return { recorded: null, notRecorded: "no checkpoint is signed yet" };
  if (latest.treeSize <= options.previous) return { recorded: null, notRecorded: null };
  if (!options.trustedKeys.has(signer.keyId)) {
    return {
      recorded: null,
      notRecorded: `the signing key ${signer.keyId} is not one of the keys verified against`,
    };
  }
  const index = options.checkpoints.findIndex((checkpoint) => checkpoint.body === latest.body);
  const recorded = signVerification(
    {
      format: VERIFICATION_FORMAT,
      logId: options.logId,
      treeSize: latest.treeSize,
      rootHash: latest.rootHash,
      checkpointsHash: checkpointsDigests(options.checkpoints.slice(0, index + 1)).at(-1)!,
      mode: options.mode,
      verifiedAt: (options.now?.() ?? new Date()).toISOString(),
      keyId: signer.keyId,
    },
    signer.privateKey,
  );
  try {
    await insertVerificationRecord(sql, recorded);
  } catch (error) {
    // A read-only replica can be verified; it just cannot remember it.
    return { recorded: null, notRecorded: `the record could not be stored: ${(error as Error).message}` };
  }
  return { recorded, notRecorded: null };
}
