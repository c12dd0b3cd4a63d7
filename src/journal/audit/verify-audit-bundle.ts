import type { KeyObject } from "node:crypto";
import { hash } from "node:crypto";
import { GENESIS_HASH, hashEvent } from "../hash.ts";
import type { AuditBundle } from "./audit-bundle.ts";
import { type AuditLeaf, encodeLeaf, parseAuditLeaf } from "./audit-leaf.ts";
import { auditKeyId, publicKeyFromRaw } from "./checkpoint.ts";
import { verifyConsistency } from "./consistency-proof.ts";
import { fastCanonicalJson } from "./fast-canonical-json.ts";
import type { StoredLeafRow } from "./hash-leaf-page.ts";
import { verifyInclusion } from "./inclusion-proof.ts";
import { hashLeaf } from "./merkle-hash.ts";
import {
  type AuditProblem,
  type AuditVerdict,
  checkCheckpointSequence,
  verifyAuditLog,
} from "./verify-audit-log.ts";

/** A bundle's verdict, and whether its keys were pinned by the auditor or taken from the bundle itself. */
export type BundleVerdict = AuditVerdict & { keyIds: string[]; pinned: boolean };

/**
 * Verify an exported bundle with nothing but its files (docs/security.md, "Audit log", gives the same steps
 * for reimplementation): keys, checkpoint signatures, consistency between consecutive checkpoints, each event's
 * bytes and hashes, each run's chain, and then either the whole tree (a log bundle) or each event's inclusion
 * proof (a run bundle) against the newest checkpoint. Pass the operator's published keys as `trustedKeys`;
 * without them the bundle's own keys are used, which only shows the bundle is self-consistent.
 */
export async function verifyAuditBundle(
  bundle: AuditBundle,
  options: { trustedKeys?: ReadonlyMap<string, KeyObject>; threads?: number; maxProblems?: number } = {},
): Promise<BundleVerdict> {
  const maxProblems = options.maxProblems ?? 20;
  const problems: AuditProblem[] = [];
  let problemCount = 0;
  const report = (problem: AuditProblem) => {
    problemCount++;
    if (problems.length < maxProblems) problems.push(problem);
  };
  const trustedKeys = options.trustedKeys ?? bundleKeys(bundle, report);
  const { manifest } = bundle;
  const checkpoints = checkCheckpointSequence(
    { checkpoints: bundle.checkpoints, trustedKeys, logId: manifest.logId },
    report,
  );
  const latest = checkpoints.at(-1) ?? null;
  if ((latest?.treeSize ?? 0) !== manifest.treeSize || bundle.proofs.treeSize !== manifest.treeSize) {
    report({
      kind: "checkpoint",
      message: `the manifest, proofs and newest checkpoint disagree on the tree size`,
    });
  }
  checkConsistencyProofs(bundle, checkpoints, report);
  if (bundle.events.length !== manifest.events) {
    report({
      kind: "order",
      message: `the manifest lists ${manifest.events} events but events.jsonl has ${bundle.events.length}`,
    });
  }
  let base: AuditVerdict;
  if (manifest.scope.kind === "log") {
    base = await verifyAuditLog({
      pages: logPages(bundle.events, report),
      checkpoints: bundle.checkpoints,
      trustedKeys,
      logId: manifest.logId,
      expectedSize: manifest.treeSize,
      threads: options.threads ?? 0,
      maxProblems,
    });
  } else {
    base = verifyRunEvents(bundle, manifest.scope.runId, latest?.rootHash ?? null, report);
  }
  for (const problem of base.problems) report(problem);
  problemCount += base.problemCount - base.problems.length;
  return {
    ...base,
    ok: problemCount === 0,
    checkpoints: checkpoints.length,
    latest: problemCount === 0 ? latest : null,
    problems,
    problemCount,
    keyIds: [...trustedKeys.keys()],
    pinned: options.trustedKeys !== undefined,
  };
}

function bundleKeys(bundle: AuditBundle, report: (problem: AuditProblem) => void): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const key of bundle.keys) {
    try {
      const publicKey = publicKeyFromRaw(key.publicKey);
      const keyId = auditKeyId(publicKey);
      if (keyId !== key.keyId)
        report({ kind: "checkpoint", message: `public key ${key.keyId} has key id ${keyId}` });
      keys.set(keyId, publicKey);
    } catch (error) {
      report({ kind: "checkpoint", message: `public key ${key.keyId}: ${(error as Error).message}` });
    }
  }
  return keys;
}

function checkConsistencyProofs(
  bundle: AuditBundle,
  checkpoints: readonly { treeSize: number; rootHash: string }[],
  report: (problem: AuditProblem) => void,
): void {
  for (let index = 1; index < checkpoints.length; index++) {
    const older = checkpoints[index - 1]!;
    const newer = checkpoints[index]!;
    const entry = bundle.proofs.consistency.find(
      (proof) => proof.oldSize === older.treeSize && proof.newSize === newer.treeSize,
    );
    const ok =
      entry !== undefined &&
      Array.isArray(entry.proof) &&
      verifyConsistency({
        oldSize: older.treeSize,
        newSize: newer.treeSize,
        oldRoot: Buffer.from(older.rootHash, "hex"),
        newRoot: Buffer.from(newer.rootHash, "hex"),
        proof: entry.proof.map(hexHash),
      });
    if (!ok) {
      report({
        kind: "checkpoint",
        treeSize: newer.treeSize,
        message: `checkpoint ${newer.treeSize} is not shown consistent with checkpoint ${older.treeSize}`,
      });
    }
  }
}

/** Read one events.jsonl line: the leaf it holds, which must be written in exactly its canonical bytes. */
function readLine(line: string, number: number): AuditLeaf {
  const leaf = parseAuditLeaf(JSON.parse(line), `events.jsonl line ${number}`);
  if (encodeLeaf(leaf) !== line)
    throw new Error(`events.jsonl line ${number} is not the leaf's canonical bytes`);
  return leaf;
}

async function* logPages(
  lines: readonly string[],
  report: (problem: AuditProblem) => void,
): AsyncGenerator<StoredLeafRow[]> {
  const pageSize = 8_192;
  for (let start = 0; start < lines.length; start += pageSize) {
    const page: StoredLeafRow[] = [];
    for (let index = start; index < Math.min(start + pageSize, lines.length); index++) {
      let leaf: AuditLeaf;
      try {
        leaf = readLine(lines[index]!, index + 1);
      } catch (error) {
        report({ kind: "event", leafIndex: index, message: (error as Error).message });
        // Keep the position so later leaves keep their indexes; an unreadable line cannot match any root.
        leaf = {
          runId: "",
          seq: 0,
          type: "",
          at: "",
          payload: null,
          schemaVersion: 0,
          payloadHash: "",
          prevHash: "",
          hash: "",
          leaseToken: 0,
        };
      }
      const { payload, ...fields } = leaf;
      page.push({ ...fields, leafIndex: index, payloadJson: fastCanonicalJson(payload) });
    }
    yield page;
  }
}

function verifyRunEvents(
  bundle: AuditBundle,
  runId: string,
  rootHash: string | null,
  report: (problem: AuditProblem) => void,
): AuditVerdict {
  const { treeSize } = bundle.manifest;
  const root = rootHash ? Buffer.from(rootHash, "hex") : null;
  const proofs = new Map(bundle.proofs.inclusion.map((entry) => [entry.line, entry]));
  let previous = { seq: 0, hash: GENESIS_HASH, leafIndex: -1 };
  bundle.events.forEach((line, offset) => {
    const number = offset + 1;
    let leaf: AuditLeaf;
    try {
      leaf = readLine(line, number);
    } catch (error) {
      report({ kind: "event", message: (error as Error).message });
      return;
    }
    const at = { runId: leaf.runId, seq: leaf.seq };
    if (leaf.runId !== runId)
      report({ kind: "event", ...at, message: `line ${number} is an event of run ${leaf.runId}` });
    if (hash("sha256", fastCanonicalJson(leaf.payload), "hex") !== leaf.payloadHash) {
      report({ kind: "event", ...at, message: "payload does not match its payloadHash" });
    }
    if (hashEvent(leaf) !== leaf.hash)
      report({ kind: "event", ...at, message: "event hash does not match its fields" });
    if (leaf.seq !== previous.seq + 1) {
      report({ kind: "chain", ...at, message: `expected seq ${previous.seq + 1}, found ${leaf.seq}` });
    } else if (leaf.prevHash !== previous.hash) {
      report({ kind: "chain", ...at, message: "prevHash does not match the previous event" });
    }
    const proof = proofs.get(number);
    if (!proof || !Array.isArray(proof.path)) {
      report({ kind: "tree", ...at, message: `line ${number} has no inclusion proof` });
    } else if (proof.leafIndex <= previous.leafIndex) {
      report({
        kind: "order",
        ...at,
        message: `line ${number} is placed at leaf ${proof.leafIndex}, not after leaf ${previous.leafIndex}`,
      });
    } else if (
      !root ||
      !verifyInclusion({
        index: proof.leafIndex,
        size: treeSize,
        leafHash: hashLeaf(line),
        path: proof.path.map(hexHash),
        root,
      })
    ) {
      report({
        kind: "tree",
        ...at,
        leafIndex: proof.leafIndex,
        message: `line ${number} is not leaf ${proof.leafIndex} of the signed tree of ${treeSize}`,
      });
    }
    previous = { seq: leaf.seq, hash: leaf.hash, leafIndex: proof?.leafIndex ?? previous.leafIndex };
  });
  if (bundle.proofs.inclusion.length !== bundle.events.length) {
    report({
      kind: "tree",
      message: `${bundle.proofs.inclusion.length} inclusion proofs for ${bundle.events.length} events`,
    });
  }
  return {
    ok: true,
    leaves: bundle.events.length,
    runs: 1,
    checkpoints: 0,
    latest: null,
    unsigned: 0,
    from: 0,
    problems: [],
    problemCount: 0,
  };
}

function hexHash(text: unknown): Buffer {
  return typeof text === "string" && /^[0-9a-f]{64}$/.test(text) ? Buffer.from(text, "hex") : Buffer.alloc(0);
}
