import type { KeyObject } from "node:crypto";
import type { SignedCheckpoint, StoredLeafRow, SubtreeHashes } from "../journal/index.ts";

/**
 * The audit log as read by an auditor's queries (the HTTP audit routes): checkpoints, the keys that signed them,
 * leaves and the cached subtree hashes proofs are built from. A port of its own beside `Store`; the SQL stores
 * implement it over the log's tables (`audit-log-queries.ts`). Signing checkpoints, verifying the whole log and
 * exporting bundles stay operations over a `SqlClient` (`create-audit-checkpoint.ts`, `verify-store-audit-log.ts`).
 */
export interface AuditQueries {
  /** The newest signed checkpoint and its tree size, or null before the first. */
  latestCheckpoint(): Promise<(SignedCheckpoint & { treeSize: number }) | null>;
  /** Every public key that has signed checkpoints, by key id. */
  auditKeys(): Promise<Map<string, KeyObject>>;
  /** The leaf index of one event (numbering it first when the sequencer has not yet), or null when there is none. */
  leafIndexOf(runId: string, seq: number): Promise<number | null>;
  /** Leaves with index in `[from, to)`, in order. */
  readLeaves(from: number, to: number): Promise<StoredLeafRow[]>;
  /** The hashes of perfect subtrees, from the cache where it holds them, for inclusion and consistency proofs. */
  subtreeHashes(): SubtreeHashes;
}
