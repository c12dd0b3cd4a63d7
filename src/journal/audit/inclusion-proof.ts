import { hashChildren, splitPoint } from "./merkle-hash.ts";
import type { LeafRange } from "./merkle-tree.ts";

/**
 * The ranges whose tree hashes make up PATH(index, D[size]) (RFC 6962 §2.1.1), in proof order: the sibling
 * nearest the leaf first. Fetch each range's MTH to get the audit path.
 */
export function inclusionProofRanges(index: number, size: number): LeafRange[] {
  assertIndex(index, size);
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = size;
  // Walk down from the root, remembering the sibling of each subtree the leaf is in; reverse at the end.
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      ranges.push({ start: start + k, end });
      end = start + k;
    } else {
      ranges.push({ start, end: start + k });
      start += k;
    }
  }
  return ranges.reverse();
}

/**
 * Check an audit path (RFC 9162 §2.1.3.2): fold the leaf hash with the path and compare with the root.
 * False for any malformed input; never throws.
 */
export function verifyInclusion(options: {
  index: number;
  size: number;
  leafHash: Uint8Array;
  path: readonly Uint8Array[];
  root: Uint8Array;
}): boolean {
  const { index, size, path } = options;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r: Uint8Array = options.leafHash;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && Buffer.from(r).equals(options.root);
}

function assertIndex(index: number, size: number): void {
  if (!Number.isSafeInteger(size) || size < 1)
    throw new RangeError(`tree size must be a positive integer, not ${size}`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new RangeError(`leaf index ${index} is outside a tree of ${size} leaves`);
  }
}
