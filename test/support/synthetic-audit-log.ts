import { generateKeyPairSync, hash, type KeyObject } from "node:crypto";
import type { AuditBundle } from "../../src/journal/audit/audit-bundle.ts";
import { BUNDLE_FORMAT } from "../../src/journal/audit/audit-bundle.ts";
import { encodeLeaf } from "../../src/journal/audit/audit-leaf.ts";
import {
  buildConsistencyProof,
  buildInclusionProof,
  memorySubtreeHashes,
} from "../../src/journal/audit/build-proof.ts";
import {
  auditKeyId,
  CHECKPOINT_FORMAT,
  rawPublicKey,
  type SignedCheckpoint,
  signCheckpoint,
} from "../../src/journal/audit/checkpoint.ts";
import { fastCanonicalJson } from "../../src/journal/audit/fast-canonical-json.ts";
import { auditLeafOfRow, type StoredLeafRow } from "../../src/journal/audit/hash-leaf-page.ts";
import { hashLeaf } from "../../src/journal/audit/merkle-hash.ts";
import { merkleRoot } from "../../src/journal/audit/merkle-tree.ts";
import { GENESIS_HASH, hashEvent } from "../../src/journal/hash.ts";

/** An audit log held in memory as a store would hold it: rows in leaf order, checkpoints, run heads, counter. */
export type SyntheticAuditLog = {
  logId: string;
  rows: StoredLeafRow[];
  checkpoints: SignedCheckpoint[];
  runHeads: Map<string, { lastSeq: number; lastHash: string }>;
  size: number;
  key: { privateKey: KeyObject; publicKey: KeyObject; keyId: string };
};

/** A deterministic pseudo-random source (Park–Miller), so a failing trial can be replayed from its seed. */
export function seededRandom(seed: number): (limit: number) => number {
  let state = seed % 2_147_483_647 || 1;
  return (limit) => {
    state = (state * 48_271) % 2_147_483_647;
    return state % limit;
  };
}

/** Give a row its correct payload hash and link hash, continuing from `prevHash`. */
export function sealRow(row: StoredLeafRow, prevHash: string): StoredLeafRow {
  const payloadHash = hash("sha256", fastCanonicalJson(JSON.parse(row.payloadJson)), "hex");
  const sealed = { ...row, payloadHash, prevHash };
  return { ...sealed, hash: hashEvent(sealed) };
}

/**
 * `events` events spread over `runs` runs in an interleaved global order, each run's chain intact, with a
 * checkpoint signed every `checkpointEvery` leaves. Payloads vary in shape like real ones (nested objects,
 * arrays, numbers, booleans, unicode).
 */
export function syntheticAuditLog(options: {
  events: number;
  runs: number;
  checkpointEvery: number;
  seed?: number;
  key?: { privateKey: KeyObject; publicKey: KeyObject };
}): SyntheticAuditLog {
  const random = seededRandom(options.seed ?? 1);
  const keyPair = options.key ?? generateKeyPairSync("ed25519");
  const key = { ...keyPair, keyId: auditKeyId(keyPair.publicKey) };
  const logId = `log-${options.seed ?? 1}`;
  const heads = new Map<string, { lastSeq: number; lastHash: string }>();
  const rows: StoredLeafRow[] = [];
  const start = Date.UTC(2026, 0, 1);
  for (let index = 0; index < options.events; index++) {
    const runId = `run-${random(options.runs)}`;
    const head = heads.get(runId) ?? { lastSeq: 0, lastHash: GENESIS_HASH };
    const payload = {
      step: head.lastSeq + 1,
      tool: ["get_order", "refund", "search"][random(3)],
      ok: random(2) === 0,
      arguments: {
        orderId: 1000 + random(9000),
        note: `naïve café ${random(100)} ✓`,
        items: [random(5), random(5)],
      },
      cost: random(1000) / 100,
    };
    const row = sealRow(
      {
        leafIndex: index,
        runId,
        seq: head.lastSeq + 1,
        type: head.lastSeq === 0 ? "run-start" : "tool-call-end",
        at: new Date(start + index * 7).toISOString(),
        payloadJson: JSON.stringify(payload),
        schemaVersion: 1,
        payloadHash: "",
        prevHash: "",
        hash: "",
        leaseToken: 1 + random(3),
      },
      head.lastHash,
    );
    rows.push(row);
    heads.set(runId, { lastSeq: row.seq, lastHash: row.hash });
  }
  const leafHashes = rows.map((row) => hashLeaf(encodeLeaf(auditLeafOfRow(row).leaf)));
  const checkpoints: SignedCheckpoint[] = [];
  for (let size = options.checkpointEvery; size <= rows.length; size += options.checkpointEvery) {
    const { body, signature } = signCheckpoint(
      {
        format: CHECKPOINT_FORMAT,
        logId,
        treeSize: size,
        rootHash: merkleRoot(leafHashes, 0, size).toString("hex"),
        timestamp: new Date(start + size * 7).toISOString(),
        keyId: key.keyId,
      },
      key.privateKey,
    );
    checkpoints.push({ body, signature });
  }
  return { logId, rows, checkpoints, runHeads: heads, size: rows.length, key };
}

/** Export a synthetic log as a bundle (all of it, or one run), as `keel audit export` would. */
export async function syntheticBundle(log: SyntheticAuditLog, runId?: string): Promise<AuditBundle> {
  const latest = JSON.parse(log.checkpoints.at(-1)!.body) as { treeSize: number };
  const covered = log.rows.slice(0, latest.treeSize);
  const lines = covered.map((row) => encodeLeaf(auditLeafOfRow(row).leaf));
  const lookup = memorySubtreeHashes(lines.map((line) => hashLeaf(line)));
  const sizes = log.checkpoints.map(
    (checkpoint) => (JSON.parse(checkpoint.body) as { treeSize: number }).treeSize,
  );
  const consistency = [];
  for (let index = 1; index < sizes.length; index++) {
    const proof = await buildConsistencyProof(sizes[index - 1]!, sizes[index]!, lookup);
    consistency.push({
      oldSize: sizes[index - 1]!,
      newSize: sizes[index]!,
      proof: proof.map((p) => p.toString("hex")),
    });
  }
  const chosen =
    runId === undefined
      ? covered.map((_, index) => index)
      : covered.flatMap((row, index) => (row.runId === runId ? [index] : []));
  const inclusion = [];
  if (runId !== undefined) {
    for (const [offset, index] of chosen.entries()) {
      const path = await buildInclusionProof(index, latest.treeSize, lookup);
      inclusion.push({ line: offset + 1, leafIndex: index, path: path.map((p) => p.toString("hex")) });
    }
  }
  return {
    manifest: {
      format: BUNDLE_FORMAT,
      logId: log.logId,
      scope: runId === undefined ? { kind: "log" } : { kind: "run", runId },
      treeSize: latest.treeSize,
      events: chosen.length,
      exportedAt: new Date(Date.UTC(2026, 1, 1)).toISOString(),
    },
    events: chosen.map((index) => lines[index]!),
    checkpoints: log.checkpoints.map((checkpoint) => ({ ...checkpoint })),
    keys: [
      {
        keyId: log.key.keyId,
        algorithm: "Ed25519",
        publicKey: rawPublicKey(log.key.publicKey).toString("base64"),
      },
    ],
    proofs: { treeSize: latest.treeSize, inclusion, consistency },
  };
}
