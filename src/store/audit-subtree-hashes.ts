import { KeelError } from "../errors/index.ts";
import type { PerfectSubtree, SubtreeHashes } from "../journal/index.ts";
import { HASH_BYTES, hashChildren, hashLeafPage } from "../journal/index.ts";
import { readLeaves } from "./audit-log-queries.ts";
import type { SqlClient } from "./store.ts";

/** Every fourth level of the tree is kept in keel_audit_nodes (16, 256, 4096… leaves a node). */
export const CACHED_LEVEL_STRIDE = 4;

/** Whether the checkpointer keeps subtrees of this level in keel_audit_nodes. */
export function isCachedLevel(level: number): boolean {
  return level > 0 && level % CACHED_LEVEL_STRIDE === 0;
}

/**
 * Perfect-subtree hashes from the store: a subtree is rebuilt from at most eight cached nodes at the nearest
 * cached level below it, or from at most eight events when it is below the first cached level. Two queries
 * however many subtrees a proof needs.
 */
export function storeSubtreeHashes(sql: SqlClient): SubtreeHashes {
  return async (subtrees) => {
    const plans = subtrees.map(planSubtree);
    const nodeKeys = plans
      .filter((plan) => plan.base > 0)
      .flatMap((plan) => plan.parts.map((index) => ({ level: plan.base, index })));
    const leafIndexes = plans.filter((plan) => plan.base === 0).flatMap((plan) => plan.parts);
    const known = new Map<string, Uint8Array>();
    if (nodeKeys.length > 0) {
      const { rows } = await sql.query<{ level: number; index: number; hash: Uint8Array }>(
        `SELECT n.level, n.index::float8 AS index, n.hash FROM keel_audit_nodes AS n
           JOIN unnest($1::smallint[], $2::bigint[]) AS k(level, index) ON n.level = k.level AND n.index = k.index`,
        [nodeKeys.map((key) => key.level), nodeKeys.map((key) => key.index)],
      );
      for (const row of rows) known.set(`${row.level}:${Number(row.index)}`, Buffer.from(row.hash));
    }
    if (leafIndexes.length > 0) {
      const rows = (
        await Promise.all(
          plans
            .filter((plan) => plan.base === 0)
            .map(async (plan) => await readLeaves(sql, plan.parts[0]!, plan.parts.at(-1)! + 1)),
        )
      ).flat();
      const hashed = hashLeafPage({ rows, cuts: [], withLeafHashes: true });
      if (hashed.problems.length > 0) {
        throw new KeelError(
          "conflict",
          `leaf ${rows[hashed.problems[0]!.offset]!.leafIndex}: ${hashed.problems[0]!.message}`,
        );
      }
      rows.forEach((row, offset) => {
        known.set(
          `0:${row.leafIndex}`,
          hashed.leafHashes!.subarray(offset * HASH_BYTES, (offset + 1) * HASH_BYTES),
        );
      });
    }
    return plans.map((plan) => {
      let level = plan.parts.map((index) => {
        const hash = known.get(`${plan.base}:${index}`);
        if (!hash) {
          throw new KeelError(
            "not_found",
            `the audit log has no ${plan.base === 0 ? `leaf ${index}` : `node ${plan.base}:${index}`}; a checkpoint covering it must be made first`,
          );
        }
        return hash;
      });
      while (level.length > 1) {
        const next: Uint8Array[] = [];
        for (let i = 0; i < level.length; i += 2) next.push(hashChildren(level[i]!, level[i + 1]!));
        level = next;
      }
      return level[0]!;
    });
  };
}

/** Which stored hashes make up one perfect subtree: the nearest cached level at or below it, and their indexes. */
function planSubtree(subtree: PerfectSubtree): { base: number; parts: number[] } {
  const base = subtree.level - (subtree.level % CACHED_LEVEL_STRIDE);
  const width = 2 ** (subtree.level - base);
  return { base, parts: Array.from({ length: width }, (_, offset) => subtree.index * width + offset) };
}
