import { KeelError } from "../../errors/index.ts";
import { EMPTY_ROOT, HASH_BYTES, hashChildren, splitPoint } from "./merkle-hash.ts";

/** A run of consecutive leaves `[start, end)`; proofs are lists of the tree hashes of such ranges. */
export type LeafRange = { start: number; end: number };

/** A perfect subtree: `2^level` leaves starting at leaf `index · 2^level`. */
export type PerfectSubtree = { level: number; index: number };

/** A perfect subtree with its hash: one of the peaks a frontier keeps. */
export type Peak = PerfectSubtree & { hash: Buffer };

/** MTH(D[start:end]) of in-memory leaf hashes, straight from RFC 6962 §2.1's recursive definition. */
export function merkleRoot(leafHashes: readonly Uint8Array[], start = 0, end = leafHashes.length): Buffer {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return Buffer.from(leafHashes[start]!);
  const k = splitPoint(n);
  return hashChildren(merkleRoot(leafHashes, start, start + k), merkleRoot(leafHashes, start + k, end));
}

/**
 * The perfect subtrees a range of the tree is made of, largest first. Every range a proof asks for starts at a
 * multiple of a power of two at least its size (it is a subtree in RFC 6962's split), so it is the binary
 * decomposition of its size laid left to right, and its MTH is those peaks folded from the right.
 */
export function perfectSubtreesOf(range: LeafRange): PerfectSubtree[] {
  const subtrees: PerfectSubtree[] = [];
  let start = range.start;
  let remaining = range.end - range.start;
  for (let level = 52; level >= 0 && remaining > 0; level--) {
    const width = 2 ** level;
    if (remaining >= width) {
      if (start % width !== 0)
        throw new KeelError("internal", `range ${range.start}..${range.end} is not a subtree`);
      subtrees.push({ level, index: start / width });
      start += width;
      remaining -= width;
    }
  }
  return subtrees;
}

/** Fold peaks (largest first) into the MTH of the range they cover: RFC 6962's split applied bottom-up. */
export function foldPeaks(hashes: readonly Uint8Array[]): Buffer {
  if (hashes.length === 0) return EMPTY_ROOT;
  let root: Buffer = Buffer.from(hashes[hashes.length - 1]!);
  for (let index = hashes.length - 2; index >= 0; index--) root = hashChildren(hashes[index]!, root);
  return root;
}

/**
 * The right edge of a growing tree: the peaks (perfect subtrees) that `size` leaves decompose into, so leaves
 * can be added one at a time with memory of O(log n) and the root read at any size. `onSubtree` hears of every
 * perfect subtree as it completes, for callers that keep some of them (the store's node cache).
 */
export class TreeFrontier {
  #peaks: Peak[] = [];
  #size = 0;
  readonly #onSubtree: ((peak: Peak) => void) | undefined;

  constructor(options: { peaks?: readonly Peak[]; size?: number; onSubtree?: (peak: Peak) => void } = {}) {
    this.#onSubtree = options.onSubtree;
    if (options.peaks) {
      const size = options.size ?? 0;
      const expected = peaksOfSize(size);
      const given = options.peaks;
      const matches =
        expected.length === given.length &&
        expected.every(
          (peak, i) =>
            peak.level === given[i]!.level &&
            peak.index === given[i]!.index &&
            given[i]!.hash.length === HASH_BYTES,
        );
      if (!matches)
        throw new KeelError("invalid_request", `the stored frontier does not describe ${size} leaves`);
      this.#peaks = given.map((peak) => ({ ...peak, hash: Buffer.from(peak.hash) }));
      this.#size = size;
    }
  }

  /** Leaves added so far. */
  get size(): number {
    return this.#size;
  }

  /** A copy of the peaks, largest first. */
  get peaks(): Peak[] {
    return this.#peaks.map((peak) => ({ ...peak }));
  }

  /** Add the next leaf's hash. */
  append(leafHash: Uint8Array): void {
    this.appendSubtree(0, leafHash);
  }

  /**
   * Add a whole perfect subtree of `2^level` leaves whose hash was computed elsewhere (a worker's page); the
   * frontier must end on a multiple of `2^level`.
   */
  appendSubtree(level: number, subtreeHash: Uint8Array): void {
    const width = 2 ** level;
    if (this.#size % width !== 0) {
      throw new KeelError("internal", `a subtree of ${width} leaves cannot start at leaf ${this.#size}`);
    }
    let peak: Peak = { level, index: this.#size / width, hash: Buffer.from(subtreeHash) };
    this.#onSubtree?.(peak);
    let last = this.#peaks.at(-1);
    while (last && last.level === peak.level) {
      this.#peaks.pop();
      peak = { level: peak.level + 1, index: last.index / 2, hash: hashChildren(last.hash, peak.hash) };
      this.#onSubtree?.(peak);
      last = this.#peaks.at(-1);
    }
    this.#peaks.push(peak);
    this.#size += width;
  }

  /** An independent copy at the same size, without the subtree listener: for reading roots ahead. */
  clone(): TreeFrontier {
    return new TreeFrontier({ peaks: this.#peaks, size: this.#size });
  }

  /** MTH of the leaves so far. */
  root(): Buffer {
    return foldPeaks(this.#peaks.map((peak) => peak.hash));
  }
}

/** Which perfect subtrees a tree of `size` leaves has on its right edge, largest first. */
export function peaksOfSize(size: number): PerfectSubtree[] {
  return perfectSubtreesOf({ start: 0, end: size });
}
