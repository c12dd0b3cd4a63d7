import { consistencyProofRanges } from "./consistency-proof.ts";
import { inclusionProofRanges } from "./inclusion-proof.ts";
import {
  foldPeaks,
  type LeafRange,
  merkleRoot,
  type PerfectSubtree,
  perfectSubtreesOf,
} from "./merkle-tree.ts";

/** Looks up the hashes of perfect subtrees, in the order asked; the store answers from its node cache. */
export type SubtreeHashes = (subtrees: readonly PerfectSubtree[]) => Promise<Uint8Array[]>;

/** The audit path for leaf `index` in the tree of `size` leaves (RFC 6962 PATH), from whatever holds the tree. */
export async function buildInclusionProof(
  index: number,
  size: number,
  lookup: SubtreeHashes,
): Promise<Buffer[]> {
  return await hashRanges(inclusionProofRanges(index, size), lookup);
}

/** The consistency proof from `oldSize` to `newSize` leaves (RFC 6962 PROOF). */
export async function buildConsistencyProof(
  oldSize: number,
  newSize: number,
  lookup: SubtreeHashes,
): Promise<Buffer[]> {
  return await hashRanges(consistencyProofRanges(oldSize, newSize), lookup);
}

/** Perfect-subtree lookups over leaf hashes held in memory (bundles, tests). */
export function memorySubtreeHashes(leafHashes: readonly Uint8Array[]): SubtreeHashes {
  return async (subtrees) =>
    subtrees.map(({ level, index }) => merkleRoot(leafHashes, index * 2 ** level, (index + 1) * 2 ** level));
}

async function hashRanges(ranges: readonly LeafRange[], lookup: SubtreeHashes): Promise<Buffer[]> {
  const pieces = ranges.map(perfectSubtreesOf);
  const hashes = await lookup(pieces.flat());
  let next = 0;
  return pieces.map((subtrees) => foldPeaks(subtrees.map(() => hashes[next++]!)));
}
