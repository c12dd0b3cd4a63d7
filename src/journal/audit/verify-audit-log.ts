import type { KeyObject } from "node:crypto";
import type { KeelError } from "../../errors/index.ts";
import { GENESIS_HASH } from "../hash.ts";
import {
  type Checkpoint,
  checkpointSignatureProblem,
  parseCheckpoint,
  type SignedCheckpoint,
} from "./checkpoint.ts";
import type { StoredLeafRow } from "./hash-leaf-page.ts";
import { createLeafPageHasher, type LeafPageHasher } from "./leaf-page-hasher.ts";
import { HASH_BYTES } from "./merkle-hash.ts";
import { type Peak, TreeFrontier } from "./merkle-tree.ts";

/** Where a verification found something wrong, and what. */
export type AuditProblem = {
  kind: "event" | "chain" | "order" | "checkpoint" | "tree" | "run" | "verification";
  message: string;
  leafIndex?: number;
  runId?: string;
  seq?: number;
  treeSize?: number;
};

/** The outcome of checking a log end to end. */
export type AuditVerdict = {
  ok: boolean;
  leaves: number;
  /** Runs whose events were read (with `from` > 0, only the runs with events at or after it). */
  runs: number;
  checkpoints: number;
  /** The newest checkpoint that verified, if any. */
  latest: Checkpoint | null;
  /** Leaves after the newest checkpoint: intact so far, but no signature covers them yet. */
  unsigned: number;
  /** Leaves before this index were not read: a verification record vouches for them (0: every leaf was read). */
  from: number;
  problems: AuditProblem[];
  /** Problems found in all; `problems` keeps the first `maxProblems`. */
  problemCount: number;
};

/** What to verify: the leaves in log order, the checkpoints, and what the verifier trusts. */
export type VerifyAuditLogOptions = {
  /** Every leaf from index 0, in order, a page at a time. */
  pages: AsyncIterable<StoredLeafRow[]>;
  checkpoints: readonly SignedCheckpoint[];
  /** Public keys by key id (`auditKeyId`); a checkpoint signed by any other key fails. */
  trustedKeys: ReadonlyMap<string, KeyObject>;
  /** The log every checkpoint must name; by default, whatever the first one names. */
  logId?: string;
  /** The log's own count of leaves (the store's counter): fewer leaves than that means some were removed. */
  expectedSize?: number;
  /** Each run's head as the run row records it: the last event must be that one. */
  runHeads?: ReadonlyMap<string, { lastSeq: number; lastHash: string }>;
  /**
   * Continue from a verified prefix instead of leaf 0: the signed checkpoint a verification record names, the
   * tree's right edge at its size (which the caller has folded to that checkpoint's root) and, for the runs with
   * events after it, each run's last event before it. `pages` then start at the checkpoint's size; checkpoints up
   * to it are checked for signature and order, but their roots are not recomputed.
   */
  anchor?: {
    checkpoint: Checkpoint;
    peaks: readonly Peak[];
    runs: ReadonlyMap<string, { seq: number; hash: string }>;
  };
  /** Worker threads hashing pages (0: inline). */
  threads?: number;
  maxProblems?: number;
};

type InFlight = {
  promise: ReturnType<LeafPageHasher["hash"]>;
  position: number;
  rows: StoredLeafRow[];
  cuts: number[];
  aligned: boolean;
};

/**
 * Recompute the audit log from its leaves and hold every checkpoint to it: each event's payload and link hash,
 * each run's chain (dense seqs from 1, each prev_hash the hash before), dense leaf indexes, the RFC 6962 root at
 * every checkpoint's size, every signature against the trusted keys, one log id, growing sizes and timestamps.
 * Checkpoints whose roots are recomputed from one sequence of leaves are consistent with each other by
 * construction, which is what a consistency proof would show. Pages are hashed on worker threads while the
 * next page is read. With `anchor`, the same checks start at a verified checkpoint instead of leaf 0.
 */
export async function verifyAuditLog(options: VerifyAuditLogOptions): Promise<AuditVerdict> {
  const maxProblems = options.maxProblems ?? 20;
  const problems: AuditProblem[] = [];
  let problemCount = 0;
  const report = (problem: AuditProblem) => {
    problemCount++;
    if (problems.length < maxProblems) problems.push(problem);
  };
  const checkpoints = checkCheckpointSequence(options, report);
  const anchor = options.anchor;
  const from = anchor?.checkpoint.treeSize ?? 0;
  const sizes = checkpoints.map((checkpoint) => checkpoint.treeSize).filter((size) => size > from);
  const roots = new Map<number, Buffer>();
  const runs = new Map<string, { seq: number; hash: string }>(anchor?.runs ?? []);
  const frontier = anchor ? new TreeFrontier({ peaks: anchor.peaks, size: from }) : new TreeFrontier();
  const hasher = createLeafPageHasher({ threads: options.threads ?? 0 });
  const inFlight: InFlight[] = [];
  const maxInFlight = Math.max(2, (options.threads ?? 0) * 2);
  let position = from;
  let nextCut = 0;

  const settle = async (page: InFlight) => {
    const result = await page.promise;
    for (const problem of result.problems) {
      const row = page.rows[problem.offset]!;
      report({
        kind: "event",
        message: problem.message,
        leafIndex: page.position + problem.offset,
        runId: row.runId,
        seq: row.seq,
      });
    }
    if (page.aligned) {
      page.cuts.forEach((cut, index) => {
        const ahead = frontier.clone();
        for (const peak of result.cutPeaks[index]!) ahead.appendSubtree(peak.level, peak.hash);
        roots.set(page.position + cut, ahead.root());
      });
      for (const peak of result.peaks) frontier.appendSubtree(peak.level, peak.hash);
      return;
    }
    const hashes = result.leafHashes!;
    let cut = 0;
    for (let offset = 0; offset < page.rows.length; offset++) {
      frontier.append(hashes.subarray(offset * HASH_BYTES, (offset + 1) * HASH_BYTES));
      if (page.cuts[cut] === offset + 1) {
        roots.set(frontier.size, frontier.root());
        cut++;
      }
    }
  };

  try {
    for await (const rows of options.pages) {
      if (rows.length === 0) continue;
      for (let offset = 0; offset < rows.length; offset++) {
        checkOrderAndChain(rows[offset]!, position + offset, runs, report);
      }
      const cuts: number[] = [];
      while (nextCut < sizes.length && sizes[nextCut]! <= position + rows.length) {
        cuts.push(sizes[nextCut]! - position);
        nextCut++;
      }
      // Peaks computed within the page are the tree's own only when the page starts on a multiple of the
      // largest subtree it holds; otherwise (uneven pages) its leaves are folded in here one by one.
      const aligned = position % 2 ** Math.floor(Math.log2(rows.length)) === 0;
      inFlight.push({
        promise: hasher.hash({ rows, cuts, withLeafHashes: !aligned }),
        position,
        rows,
        cuts,
        aligned,
      });
      position += rows.length;
      while (inFlight.length >= maxInFlight) await settle(inFlight.shift()!);
    }
    while (inFlight.length > 0) await settle(inFlight.shift()!);
  } finally {
    await hasher.close();
  }

  const leaves = position;
  if (options.expectedSize !== undefined && options.expectedSize !== leaves) {
    report({
      kind: "order",
      message:
        options.expectedSize > leaves
          ? `the log counts ${options.expectedSize} leaves but only ${leaves} are stored: leaves were deleted or the tail truncated`
          : `the log counts ${options.expectedSize} leaves but ${leaves} are stored: leaves were inserted`,
    });
  }
  let latest: Checkpoint | null = null;
  for (const checkpoint of checkpoints) {
    if (checkpoint.treeSize <= from) {
      // Vouched for by the verification record (the anchor's own root was checked against the frontier).
      if (checkpoint.treeSize < from || checkpoint.rootHash === anchor?.checkpoint.rootHash)
        latest = checkpoint;
      else
        report({
          kind: "tree",
          treeSize: checkpoint.treeSize,
          message: `checkpoint ${checkpoint.treeSize} is not the one the verification record names`,
        });
      continue;
    }
    const root = roots.get(checkpoint.treeSize);
    if (!root) {
      report({
        kind: "tree",
        treeSize: checkpoint.treeSize,
        message: `checkpoint at size ${checkpoint.treeSize} covers leaves that are gone (${leaves} remain): deleted or truncated`,
      });
      continue;
    }
    if (root.toString("hex") !== checkpoint.rootHash) {
      report({
        kind: "tree",
        treeSize: checkpoint.treeSize,
        message: `the leaves no longer hash to checkpoint ${checkpoint.treeSize}'s root: an event before it was edited, removed, added or moved`,
      });
      continue;
    }
    latest = checkpoint;
  }
  if (options.runHeads) checkRunHeads(options.runHeads, runs, report);
  return {
    ok: problemCount === 0,
    leaves,
    runs: runs.size,
    checkpoints: checkpoints.length,
    latest: problemCount === 0 ? latest : null,
    unsigned: leaves - Math.max(from, checkpoints.at(-1)?.treeSize ?? 0),
    from,
    problems,
    problemCount,
  };
}

/**
 * Parse every checkpoint, check its signature against the trusted keys, one log id, and that sizes and
 * timestamps only grow; returns those that can be held to the tree.
 */
export function checkCheckpointSequence(
  options: Pick<VerifyAuditLogOptions, "checkpoints" | "trustedKeys" | "logId">,
  report: (problem: AuditProblem) => void,
): Checkpoint[] {
  const read: Checkpoint[] = [];
  let logId = options.logId;
  for (const signed of options.checkpoints) {
    let checkpoint: Checkpoint;
    try {
      checkpoint = parseCheckpoint(signed);
    } catch (error) {
      report({ kind: "checkpoint", message: `a checkpoint is malformed: ${(error as KeelError).message}` });
      continue;
    }
    const at = { kind: "checkpoint" as const, treeSize: checkpoint.treeSize };
    const signatureProblem = checkpointSignatureProblem(checkpoint, options.trustedKeys);
    if (signatureProblem)
      report({ ...at, message: `checkpoint ${checkpoint.treeSize}: ${signatureProblem}` });
    logId ??= checkpoint.logId;
    if (checkpoint.logId !== logId) {
      report({
        ...at,
        message: `checkpoint ${checkpoint.treeSize} is for log ${checkpoint.logId}, not ${logId}`,
      });
    }
    const previous = read.at(-1);
    if (previous && checkpoint.treeSize <= previous.treeSize) {
      report({
        ...at,
        message: `checkpoint ${checkpoint.treeSize} does not follow ${previous.treeSize}: sizes must grow`,
      });
      continue;
    }
    if (previous && checkpoint.timestamp < previous.timestamp) {
      report({
        ...at,
        message: `checkpoint ${checkpoint.treeSize} is dated before checkpoint ${previous.treeSize}`,
      });
    }
    read.push(checkpoint);
  }
  return read;
}

function checkOrderAndChain(
  row: StoredLeafRow,
  position: number,
  runs: Map<string, { seq: number; hash: string }>,
  report: (problem: AuditProblem) => void,
): void {
  if (row.leafIndex !== position) {
    report({
      kind: "order",
      leafIndex: position,
      runId: row.runId,
      seq: row.seq,
      message:
        row.leafIndex > position
          ? `leaf ${position} is missing (next stored leaf is ${row.leafIndex}): an event was deleted`
          : `leaf index ${row.leafIndex} appears again at position ${position}`,
    });
  }
  const previous = runs.get(row.runId);
  const expectedSeq = (previous?.seq ?? 0) + 1;
  const expectedPrev = previous?.hash ?? GENESIS_HASH;
  if (row.seq !== expectedSeq) {
    report({
      kind: "chain",
      leafIndex: position,
      runId: row.runId,
      seq: row.seq,
      message: `expected seq ${expectedSeq} of run ${row.runId}, found ${row.seq}`,
    });
  } else if (row.prevHash !== expectedPrev) {
    report({
      kind: "chain",
      leafIndex: position,
      runId: row.runId,
      seq: row.seq,
      message: "prev_hash does not match the run's previous event",
    });
  }
  runs.set(row.runId, { seq: row.seq, hash: row.hash });
}

function checkRunHeads(
  heads: ReadonlyMap<string, { lastSeq: number; lastHash: string }>,
  runs: ReadonlyMap<string, { seq: number; hash: string }>,
  report: (problem: AuditProblem) => void,
): void {
  for (const [runId, head] of heads) {
    const last = runs.get(runId);
    if (!last) {
      report({
        kind: "run",
        runId,
        message: `run ${runId} has no events in the log (its head says seq ${head.lastSeq})`,
      });
    } else if (last.seq !== head.lastSeq || last.hash !== head.lastHash) {
      report({
        kind: "run",
        runId,
        seq: last.seq,
        message: `run ${runId} ends at seq ${last.seq} but its head says seq ${head.lastSeq}: its tail was cut or changed`,
      });
    }
  }
  for (const runId of runs.keys()) {
    if (!heads.has(runId))
      report({ kind: "run", runId, message: `events of run ${runId} are in the log but the run is not` });
  }
}
