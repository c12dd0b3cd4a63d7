import { KeelError } from "../errors/index.ts";
import {
  auditLeafOfRow,
  BUNDLE_FORMAT,
  type BundleKey,
  type BundleManifest,
  type BundleProofs,
  buildConsistencyProof,
  buildInclusionProof,
  encodeLeaf,
  parseCheckpoint,
  rawPublicKey,
  type SignedCheckpoint,
  type StoredLeafRow,
} from "../journal/index.ts";
import { readAuditKeys } from "./audit-keys.ts";
import { leafPages, readCheckpoints, readRunLeaves } from "./audit-log-queries.ts";
import { storeSubtreeHashes } from "./audit-subtree-hashes.ts";
import type { SqlClient } from "./store.ts";

/** A bundle as exported: the same files as `AuditBundle`, with the events streamed a line at a time. */
export type ExportedBundle = {
  manifest: BundleManifest;
  events: AsyncIterable<string>;
  checkpoints: SignedCheckpoint[];
  keys: BundleKey[];
  proofs: BundleProofs;
};

/**
 * Everything an auditor needs, up to the newest checkpoint: the checkpoints, the log's public keys,
 * consistency proofs between consecutive checkpoints, and the events as their exact leaf bytes. With `runId`,
 * only that run's events, each with its inclusion proof; without, every leaf, for the auditor to rebuild the
 * tree. Rows are exported as stored (a time altered below the millisecond keeps its extra digits), so a
 * tampered store yields a bundle that fails verification rather than one that hides it.
 */
export async function exportAuditBundle(
  sql: SqlClient,
  options: { runId?: string; now?: () => Date } = {},
): Promise<ExportedBundle> {
  const checkpoints = await readCheckpoints(sql);
  const latest = checkpoints.at(-1);
  if (!latest)
    throw new KeelError("conflict", "the audit log has no checkpoint yet: run keel audit checkpoint");
  const head = parseCheckpoint(latest);
  const lookup = storeSubtreeHashes(sql);
  const sizes = checkpoints.map((checkpoint) => parseCheckpoint(checkpoint).treeSize);
  const consistency = [];
  for (let index = 1; index < sizes.length; index++) {
    const [oldSize, newSize] = [sizes[index - 1]!, sizes[index]!];
    const proof = await buildConsistencyProof(oldSize, newSize, lookup);
    consistency.push({ oldSize, newSize, proof: proof.map((hash) => hash.toString("hex")) });
  }
  const keys = [...(await readAuditKeys(sql))].map(([keyId, key]) => ({
    keyId,
    algorithm: "Ed25519" as const,
    publicKey: rawPublicKey(key).toString("base64"),
  }));
  const exportedAt = (options.now ?? (() => new Date()))().toISOString();
  if (options.runId === undefined) {
    return {
      manifest: {
        format: BUNDLE_FORMAT,
        logId: head.logId,
        scope: { kind: "log" },
        treeSize: head.treeSize,
        events: head.treeSize,
        exportedAt,
      },
      events: linesOf(leafPages(sql, { size: head.treeSize, withExtra: false })),
      checkpoints,
      keys,
      proofs: { treeSize: head.treeSize, inclusion: [], consistency },
    };
  }
  const rows = (await readRunLeaves(sql, options.runId)).filter((row) => row.leafIndex < head.treeSize);
  if (rows.length === 0) {
    throw new KeelError(
      "not_found",
      `run ${options.runId} has no events covered by checkpoint ${head.treeSize}`,
    );
  }
  const inclusion = [];
  for (const [offset, row] of rows.entries()) {
    const path = await buildInclusionProof(row.leafIndex, head.treeSize, lookup);
    inclusion.push({
      line: offset + 1,
      leafIndex: row.leafIndex,
      path: path.map((hash) => hash.toString("hex")),
    });
  }
  return {
    manifest: {
      format: BUNDLE_FORMAT,
      logId: head.logId,
      scope: { kind: "run", runId: options.runId },
      treeSize: head.treeSize,
      events: rows.length,
      exportedAt,
    },
    events: linesOf(
      (async function* () {
        yield rows;
      })(),
    ),
    checkpoints,
    keys,
    proofs: { treeSize: head.treeSize, inclusion, consistency },
  };
}

/** A stored row as its leaf's bytes; an altered time is kept as stored so the bundle shows it. */
function lineOf(row: StoredLeafRow): string {
  const { leaf, altered } = auditLeafOfRow(row);
  return encodeLeaf(altered ? { ...leaf, at: row.at } : leaf);
}

async function* linesOf(pages: AsyncIterable<StoredLeafRow[]>): AsyncGenerator<string> {
  for await (const rows of pages) for (const row of rows) yield lineOf(row);
}
