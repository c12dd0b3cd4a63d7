import { KeelError } from "../errors/index.ts";
import {
  CHECKPOINT_FORMAT,
  type Checkpoint,
  HASH_BYTES,
  hashLeafPage,
  type Peak,
  parseCheckpoint,
  signCheckpoint,
  TreeFrontier,
} from "../journal/index.ts";
import { assignLeafIndexes } from "./assign-leaf-indexes.ts";
import type { AuditSigner } from "./audit-keys.ts";
import {
  LEAF_PAGE_SIZE,
  readAuditHead,
  readLatestCheckpoint,
  readLeaves,
  type StoredFrontier,
} from "./audit-log-queries.ts";
import { isCachedLevel } from "./audit-subtree-hashes.ts";
import type { SqlClient } from "./store.ts";

/** One checkpointer at a time across processes; a second waits, then finds the work done. */
const CHECKPOINT_LOCK_KEY = 4_711_203_007;

/**
 * Sign a checkpoint over every event committed so far (numbering the ones the sequencer has not reached yet first), continuing from the previous checkpoint's frontier, and
 * keep the new perfect subtrees of the cached levels for proofs. Refuses to sign an event whose stored hashes do
 * not match its content, or a range with a leaf missing. Returns null when nothing was appended since the last
 * checkpoint. Runs beside the append path, never in it: appends write their events and nothing global.
 */
export async function createAuditCheckpoint(
  sql: SqlClient,
  options: { signer: AuditSigner; now?: () => Date },
): Promise<Checkpoint | null> {
  const now = options.now ?? (() => new Date());
  await assignLeafIndexes(sql);
  return await sql.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [CHECKPOINT_LOCK_KEY]);
    const head = await readAuditHead(tx);
    const latest = await readLatestCheckpoint(tx);
    const from = latest?.treeSize ?? 0;
    if (head.size <= from) return null;
    const nodes: Peak[] = [];
    const frontier = new TreeFrontier({
      peaks: (latest?.frontier ?? []).map((peak) => ({ ...peak, hash: Buffer.from(peak.hash, "hex") })),
      size: from,
      onSubtree: (peak) => {
        if (isCachedLevel(peak.level)) nodes.push(peak);
      },
    });
    for (let start = from; start < head.size; start += LEAF_PAGE_SIZE) {
      const end = Math.min(start + LEAF_PAGE_SIZE, head.size);
      const rows = await readLeaves(tx, start, end);
      const gap = rows.findIndex((row, offset) => row.leafIndex !== start + offset);
      if (rows.length !== end - start || gap !== -1) {
        throw new KeelError(
          "conflict",
          `refusing to sign: leaf ${gap === -1 ? start + rows.length : start + gap} is missing`,
        );
      }
      const hashed = hashLeafPage({ rows, cuts: [], withLeafHashes: true });
      const problem = hashed.problems[0];
      if (problem) {
        const row = rows[problem.offset]!;
        throw new KeelError(
          "conflict",
          `refusing to sign: run ${row.runId} seq ${row.seq}: ${problem.message}`,
        );
      }
      for (let offset = 0; offset < rows.length; offset++) {
        frontier.append(hashed.leafHashes!.subarray(offset * HASH_BYTES, (offset + 1) * HASH_BYTES));
      }
    }
    const previousTime = latest ? parseCheckpoint(latest).timestamp : "";
    const time = now().toISOString();
    const checkpoint = signCheckpoint(
      {
        format: CHECKPOINT_FORMAT,
        logId: head.logId,
        treeSize: head.size,
        rootHash: frontier.root().toString("hex"),
        // Never before the previous checkpoint (ISO strings sort by time), even when this clock is behind.
        timestamp: [previousTime, time].sort()[1]!,
        keyId: options.signer.keyId,
      },
      options.signer.privateKey,
    );
    if (nodes.length > 0) {
      await tx.query(
        `INSERT INTO keel_audit_nodes (level, index, hash)
         SELECT level, index, decode(hash, 'hex') FROM unnest($1::smallint[], $2::bigint[], $3::text[]) AS n(level, index, hash)
         ON CONFLICT DO NOTHING`,
        [
          nodes.map((node) => node.level),
          nodes.map((node) => node.index),
          nodes.map((node) => node.hash.toString("hex")),
        ],
      );
    }
    const stored: StoredFrontier = frontier.peaks.map(({ level, index, hash }) => ({
      level,
      index,
      hash: hash.toString("hex"),
    }));
    await tx.query(
      "INSERT INTO keel_audit_checkpoints (tree_size, body, signature, frontier) VALUES ($1, $2, $3, $4::text::jsonb)",
      [checkpoint.treeSize, checkpoint.body, checkpoint.signature, JSON.stringify(stored)],
    );
    return checkpoint;
  });
}
