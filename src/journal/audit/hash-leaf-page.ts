import { hash } from "node:crypto";
import { hashEvent } from "../hash.ts";
import { type AuditLeaf, encodeLeaf } from "./audit-leaf.ts";
import { fastCanonicalJson } from "./fast-canonical-json.ts";
import { HASH_BYTES, hashLeaf } from "./merkle-hash.ts";
import { TreeFrontier } from "./merkle-tree.ts";

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
 * and its RFC 6962 leaf hash, and build the page's part of the tree. Pure and synchronous, so it runs the same
 * in a worker thread and inline.
 */
export function hashLeafPage(input: LeafPageInput): LeafPageResult {
  const { rows } = input;
  const problems: LeafPageProblem[] = [];
  const cutPeaks: LeafPageResult["cutPeaks"] = [];
  const leafHashes = input.withLeafHashes ? new Uint8Array(rows.length * HASH_BYTES) : null;
  const frontier = new TreeFrontier();
  let cut = 0;
  for (let offset = 0; offset < rows.length; offset++) {
    const row = rows[offset]!;
    let leafHash: Buffer;
    try {
      leafHash = checkAndHashRow(row, offset, problems);
    } catch (error) {
      problems.push({ offset, message: `the event cannot be read: ${(error as Error).message}` });
      leafHash = hashLeaf(`unreadable ${offset}`);
    }
    leafHashes?.set(leafHash, offset * HASH_BYTES);
    frontier.append(leafHash);
    while (input.cuts[cut] === offset + 1) {
      cutPeaks.push(frontier.peaks.map(({ level, hash }) => ({ level, hash })));
      cut++;
    }
  }
  return {
    peaks: frontier.peaks.map(({ level, hash }) => ({ level, hash })),
    cutPeaks,
    leafHashes,
    problems,
  };
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

function checkAndHashRow(row: StoredLeafRow, offset: number, problems: LeafPageProblem[]): Buffer {
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
  return hashLeaf(
    encodeLeaf(
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
    ),
  );
}
