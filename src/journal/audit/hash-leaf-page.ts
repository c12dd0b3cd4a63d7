import { hash } from "node:crypto";
import { hashEvent } from "../hash.ts";
import { type AuditLeaf, encodeLeaf } from "./audit-leaf.ts";
import { fastCanonicalJson } from "./fast-canonical-json.ts";
import { HASH_BYTES } from "./merkle-hash.ts";

/**
 * A leaf as read for verification: the event's columns, with the payload as JSON text (however the database
 * wrote it) so that parsing happens wherever the page is hashed, off the thread that reads the store.
 */
export type StoredLeafRow = {
  leafIndex: number;
  runId: string;
  seq: number;
  type: string;
  /** ISO 8601 UTC; with microseconds when read from the store, so a sub-millisecond edit shows. */
  at: string;
  payloadJson: string;
  schemaVersion: number;
  payloadHash: string;
  prevHash: string;
  hash: string;
  leaseToken: number;
};

/** One page to hash: consecutive leaves, and the sizes (counted from the page's start) to report peaks at. */
export type LeafPageInput = { rows: StoredLeafRow[]; cuts: number[]; withLeafHashes: boolean };

/** A problem found in one event, at its offset in the page. */
export type LeafPageProblem = { offset: number; message: string };

/**
 * What hashing a page yields: the page's own peaks (levels counted within the page), the peaks at each cut,
 * every leaf hash when asked for (concatenated), and the events whose stored hashes do not match their content.
 */
export type LeafPageResult = {
  peaks: { level: number; hash: Uint8Array }[];
  cutPeaks: { level: number; hash: Uint8Array }[][];
  leafHashes: Uint8Array | null;
  problems: LeafPageProblem[];
};

const MICROSECONDS = /^(.*\.\d{3})(\d{3})Z$/;

/**
 * Hash one page of leaves: recompute each event's payload hash and link hash (the per-run chain's own checks)
 * and its RFC 6962 leaf hash, and build the page's part of the tree bottom up, one level at a time. Pure and
 * synchronous, so it runs the same in a worker thread and inline.
 *
 * Leaf and node digests are kept as 32-character latin1 ("binary") strings: `crypto.hash` returns a string far
 * more cheaply than a Buffer (a Buffer result costs about as much as hashing 500 bytes), and writing one back as
 * latin1 puts its bytes into the node scratch buffer unchanged.
 */
export function hashLeafPage(input: LeafPageInput): LeafPageResult {
  const { rows } = input;
  const problems: LeafPageProblem[] = [];
  const leaves: string[] = new Array<string>(rows.length);
  for (let offset = 0; offset < rows.length; offset++) {
    try {
      leaves[offset] = checkAndHashRow(rows[offset]!, offset, problems);
    } catch (error) {
      problems.push({ offset, message: `the event cannot be read: ${(error as Error).message}` });
      leaves[offset] = hash("sha256", `\u0000unreadable ${offset}`, "binary");
    }
  }
  let leafHashes: Uint8Array | null = null;
  if (input.withLeafHashes) {
    const bytes = Buffer.allocUnsafe(rows.length * HASH_BYTES);
    for (let offset = 0; offset < leaves.length; offset++)
      bytes.write(leaves[offset]!, offset * HASH_BYTES, "latin1");
    leafHashes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  }
  const levels = treeLevels(leaves);
  return {
    peaks: peaksAt(levels, rows.length),
    cutPeaks: input.cuts.map((cut) => peaksAt(levels, cut)),
    leafHashes,
    problems,
  };
}

/** Every level of the page's perfect subtrees: level 0 the leaves, level l+1 each pair of level l hashed. */
function treeLevels(leaves: string[]): string[][] {
  const levels = [leaves];
  const scratch = Buffer.allocUnsafe(1 + 2 * HASH_BYTES);
  scratch[0] = 1;
  let below = leaves;
  while (below.length >= 2) {
    const above: string[] = new Array<string>(below.length >> 1);
    for (let index = 0; index < above.length; index++) {
      scratch.write(below[2 * index]!, 1, "latin1");
      scratch.write(below[2 * index + 1]!, 1 + HASH_BYTES, "latin1");
      above[index] = hash("sha256", scratch, "binary");
    }
    levels.push(above);
    below = above;
  }
  return levels;
}

/** The peaks of the page's first `size` leaves, largest first: the binary decomposition of `size`. */
function peaksAt(levels: string[][], size: number): { level: number; hash: Uint8Array }[] {
  const peaks: { level: number; hash: Uint8Array }[] = [];
  let start = 0;
  for (let level = levels.length - 1; level >= 0; level--) {
    const width = 2 ** level;
    if (size - start >= width) {
      peaks.push({ level, hash: Buffer.from(levels[level]![start / width]!, "binary") });
      start += width;
    }
  }
  return peaks;
}

/**
 * A stored row as the leaf it stands for: the payload parsed, `at` back to the millisecond string that was
 * hashed on append. `altered` is true when the stored time has sub-millisecond digits no append writes.
 */
export function auditLeafOfRow(row: StoredLeafRow): { leaf: AuditLeaf; altered: boolean } {
  const { leafIndex: _leafIndex, payloadJson, ...fields } = row;
  const precise = MICROSECONDS.exec(row.at);
  return {
    leaf: { ...fields, at: precise ? `${precise[1]}Z` : row.at, payload: JSON.parse(payloadJson) },
    altered: precise !== null && precise[2] !== "000",
  };
}

/** Check one row's payload and link hashes and return its leaf hash as a latin1 string. */
function checkAndHashRow(row: StoredLeafRow, offset: number, problems: LeafPageProblem[]): string {
  let at = row.at;
  const precise = MICROSECONDS.exec(at);
  if (precise) {
    if (precise[2] !== "000")
      problems.push({ offset, message: "at has sub-millisecond digits: it was altered" });
    at = `${precise[1]}Z`;
  }
  const payload: unknown = JSON.parse(row.payloadJson);
  const payloadJson = fastCanonicalJson(payload);
  const payloadHash = hash("sha256", payloadJson, "hex");
  if (payloadHash !== row.payloadHash)
    problems.push({ offset, message: "payload does not match its payload_hash" });
  const linkHash = hashEvent({
    runId: row.runId,
    seq: row.seq,
    type: row.type,
    at,
    payloadHash: row.payloadHash,
    prevHash: row.prevHash,
  });
  if (linkHash !== row.hash) problems.push({ offset, message: "event hash does not match its fields" });
  return hash(
    "sha256",
    `\u0000${encodeLeaf(
      {
        runId: row.runId,
        seq: row.seq,
        type: row.type,
        at,
        payload,
        schemaVersion: row.schemaVersion,
        payloadHash: row.payloadHash,
        prevHash: row.prevHash,
        hash: row.hash,
        leaseToken: row.leaseToken,
      },
      payloadJson,
    )}`,
    "binary",
  );
}
