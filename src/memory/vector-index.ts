/**
 * Nearest-neighbour search over unit-length vectors by inner product (cosine similarity), in process: PGlite 0.5
 * and a PostgreSQL without pgvector have no vector index, so vectors are kept in the store and searched here.
 *
 * `ExactIndex` scans every vector. `IvfIndex` is an inverted-file index (IVF-flat): k-means centroids trained on a
 * sample, every vector filed under its nearest centroid, and a query scanning only the lists of its `probes`
 * nearest centroids. It is approximate: recall against the exact scan is measured, not assumed
 * (bench/retrieval.ts).
 */

/** One hit: the vector's position in the order it was added, and its inner product with the query. */
export type VectorHit = { index: number; score: number };

export interface VectorIndex {
  readonly size: number;
  readonly dimensions: number;
  search(query: Float32Array, k: number): VectorHit[];
}

/** Every vector, scanned in full. */
export class ExactIndex implements VectorIndex {
  readonly dimensions: number;
  readonly #data: Float32Array;

  /** `data` holds the vectors one after another, `dimensions` numbers each. */
  constructor(data: Float32Array, dimensions: number) {
    if (data.length % dimensions !== 0) throw new Error("data is not a whole number of vectors");
    this.dimensions = dimensions;
    this.#data = data;
  }

  get size(): number {
    return this.#data.length / this.dimensions;
  }

  search(query: Float32Array, k: number): VectorHit[] {
    const top = new TopK(k);
    const { dimensions } = this;
    const data = this.#data;
    for (let row = 0, offset = 0; offset < data.length; row += 1, offset += dimensions) {
      top.offer(row, dot(data, offset, query, dimensions));
    }
    return top.sorted();
  }
}

export type IvfOptions = {
  /** How many lists (centroids); default about 2·√n. */
  lists?: number;
  /** How many lists a query scans; default 16. */
  probes?: number;
  /** How many vectors k-means trains on; default 64 per list. */
  sampleSize?: number;
  /** Rounds of k-means; default 8. */
  iterations?: number;
  /** Seed of the sample and the first centroids, so a build is repeatable. */
  seed?: number;
};

/** Inverted lists over k-means centroids. The vectors are copied, grouped by list, for a cache-friendly scan. */
export class IvfIndex implements VectorIndex {
  readonly dimensions: number;
  readonly size: number;
  lists: number;
  probes: number;
  readonly #centroids: Float32Array;
  /** The vectors regrouped list by list; `#ids[i]` is where vector i of that order was added. */
  readonly #data: Float32Array;
  readonly #ids: Int32Array;
  /** List l's vectors are positions `#offsets[l]` to `#offsets[l + 1]` of the regrouped order. */
  readonly #offsets: Int32Array;

  constructor(data: Float32Array, dimensions: number, options: IvfOptions = {}) {
    if (data.length % dimensions !== 0) throw new Error("data is not a whole number of vectors");
    const size = data.length / dimensions;
    if (size === 0) throw new Error("an IVF index needs at least one vector");
    this.dimensions = dimensions;
    this.size = size;
    this.lists = Math.max(1, Math.min(size, options.lists ?? Math.round(2 * Math.sqrt(size))));
    const random = seededRandom(options.seed ?? 1);
    const sample = sampleRows(size, Math.min(size, options.sampleSize ?? this.lists * 64), random);
    const iterations = options.iterations ?? 8;
    // Two levels when there are many lists: √lists coarse centroids, each split into as many fine ones. A vector
    // is filed under the nearest fine centroid of its nearest coarse one, which costs 2·√lists inner products
    // instead of `lists` (the build's cost at a million vectors) for a slightly coarser partition.
    const coarseCount = this.lists >= 256 ? Math.round(Math.sqrt(this.lists)) : 1;
    const fineCount = Math.ceil(this.lists / coarseCount);
    this.lists = coarseCount * fineCount;
    this.probes = Math.min(this.lists, options.probes ?? 16);
    const coarse =
      coarseCount === 1
        ? new Float32Array(dimensions)
        : trainCentroids(data, dimensions, sample, coarseCount, iterations, random);
    const coarseOf = (offset: number) =>
      coarseCount === 1 ? 0 : nearest(coarse, 0, coarseCount, data, offset, dimensions);
    const members: number[][] = Array.from({ length: coarseCount }, () => []);
    for (const row of sample) members[coarseOf(row * dimensions)]!.push(row);
    this.#centroids = new Float32Array(this.lists * dimensions);
    for (let group = 0; group < coarseCount; group += 1) {
      const rows = members[group]!.length > 0 ? Int32Array.from(members[group]!) : sample;
      const fine = trainCentroids(data, dimensions, rows, fineCount, iterations, random);
      this.#centroids.set(fine, group * fineCount * dimensions);
    }
    const assignment = new Int32Array(size);
    const counts = new Int32Array(this.lists);
    for (let row = 0; row < size; row += 1) {
      const offset = row * dimensions;
      const list = nearestList(this.#centroids, coarse, coarseCount, fineCount, data, offset, dimensions);
      assignment[row] = list;
      counts[list]! += 1;
    }
    this.#offsets = new Int32Array(this.lists + 1);
    for (let list = 0; list < this.lists; list += 1)
      this.#offsets[list + 1] = this.#offsets[list]! + counts[list]!;
    const cursor = this.#offsets.slice(0, this.lists);
    this.#data = new Float32Array(data.length);
    this.#ids = new Int32Array(size);
    for (let row = 0; row < size; row += 1) {
      const at = cursor[assignment[row]!]!;
      cursor[assignment[row]!] = at + 1;
      this.#ids[at] = row;
      this.#data.set(data.subarray(row * dimensions, (row + 1) * dimensions), at * dimensions);
    }
  }

  search(query: Float32Array, k: number): VectorHit[] {
    const { dimensions } = this;
    const nearestLists = new TopK(this.probes);
    for (let list = 0; list < this.lists; list += 1) {
      nearestLists.offer(list, dot(this.#centroids, list * dimensions, query, dimensions));
    }
    const top = new TopK(k);
    const data = this.#data;
    for (const { index: list } of nearestLists.sorted()) {
      const end = this.#offsets[list + 1]!;
      for (let at = this.#offsets[list]!; at < end; at += 1) {
        top.offer(this.#ids[at]!, dot(data, at * dimensions, query, dimensions));
      }
    }
    return top.sorted();
  }
}

/** The inner product of `data[offset … offset + dimensions)` with `query`. */
function dot(data: Float32Array, offset: number, query: Float32Array, dimensions: number): number {
  return dotAt(data, offset, query, 0, dimensions);
}

/** The inner product of two stretches of `dimensions` numbers, four at a time (most of a search's time). */
function dotAt(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  dimensions: number,
): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let index = 0;
  for (; index + 3 < dimensions; index += 4) {
    s0 += a[aOffset + index]! * b[bOffset + index]!;
    s1 += a[aOffset + index + 1]! * b[bOffset + index + 1]!;
    s2 += a[aOffset + index + 2]! * b[bOffset + index + 2]!;
    s3 += a[aOffset + index + 3]! * b[bOffset + index + 3]!;
  }
  for (; index < dimensions; index += 1) s0 += a[aOffset + index]! * b[bOffset + index]!;
  return s0 + s1 + s2 + s3;
}

/**
 * The list a vector is filed under: the nearest fine centroid among those of its two nearest coarse centroids (a
 * vector near a coarse boundary often belongs with the neighbour's lists).
 */
function nearestList(
  fine: Float32Array,
  coarse: Float32Array,
  coarseCount: number,
  fineCount: number,
  data: Float32Array,
  offset: number,
  dimensions: number,
): number {
  let first = 0;
  let second = -1;
  let firstScore = Number.NEGATIVE_INFINITY;
  let secondScore = Number.NEGATIVE_INFINITY;
  if (coarseCount > 1) {
    for (let group = 0; group < coarseCount; group += 1) {
      const score = dotAt(coarse, group * dimensions, data, offset, dimensions);
      if (score > firstScore) {
        second = first;
        secondScore = firstScore;
        first = group;
        firstScore = score;
      } else if (score > secondScore) {
        second = group;
        secondScore = score;
      }
    }
  }
  let best = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const group of second < 0 || second === first ? [first] : [first, second]) {
    for (let list = group * fineCount; list < (group + 1) * fineCount; list += 1) {
      const score = dotAt(fine, list * dimensions, data, offset, dimensions);
      if (score > bestScore) {
        bestScore = score;
        best = list;
      }
    }
  }
  return best;
}

/** Which of centroids `first … first + count` has the largest inner product with the vector at `offset` (0-based). */
function nearest(
  centroids: Float32Array,
  first: number,
  count: number,
  data: Float32Array,
  offset: number,
  dimensions: number,
): number {
  let best = 0;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let list = 0; list < count; list += 1) {
    const sum = dotAt(centroids, (first + list) * dimensions, data, offset, dimensions);
    if (sum > bestScore) {
      bestScore = sum;
      best = list;
    }
  }
  return best;
}

/** Spherical k-means (Lloyd's rounds, centroids renormalised) over the given rows; empty lists are reseeded. */
function trainCentroids(
  data: Float32Array,
  dimensions: number,
  sample: Int32Array,
  lists: number,
  iterations: number,
  random: () => number,
): Float32Array {
  const centroids = new Float32Array(lists * dimensions);
  for (let list = 0; list < lists; list += 1) {
    const row = sample[list % sample.length]!;
    centroids.set(data.subarray(row * dimensions, (row + 1) * dimensions), list * dimensions);
  }
  const sums = new Float64Array(lists * dimensions);
  const counts = new Int32Array(lists);
  for (let round = 0; round < iterations; round += 1) {
    sums.fill(0);
    counts.fill(0);
    for (const row of sample) {
      const list = nearest(centroids, 0, lists, data, row * dimensions, dimensions);
      counts[list]! += 1;
      for (let index = 0; index < dimensions; index += 1) {
        sums[list * dimensions + index]! += data[row * dimensions + index]!;
      }
    }
    for (let list = 0; list < lists; list += 1) {
      if (counts[list] === 0) {
        const row = sample[Math.floor(random() * sample.length)]!;
        centroids.set(data.subarray(row * dimensions, (row + 1) * dimensions), list * dimensions);
        continue;
      }
      let norm = 0;
      for (let index = 0; index < dimensions; index += 1) norm += sums[list * dimensions + index]! ** 2;
      const scale = norm === 0 ? 0 : 1 / Math.sqrt(norm);
      for (let index = 0; index < dimensions; index += 1) {
        centroids[list * dimensions + index] = sums[list * dimensions + index]! * scale;
      }
    }
  }
  return centroids;
}

/** `count` distinct row numbers below `size`, chosen at random (all of them when count ≥ size). */
function sampleRows(size: number, count: number, random: () => number): Int32Array {
  if (count >= size) return Int32Array.from({ length: size }, (_, row) => row);
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(Math.floor(random() * size));
  return Int32Array.from(chosen);
}

/** mulberry32: a small seeded generator, so an index is built the same way every time. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The k best (index, score) pairs offered so far, kept sorted best first. */
class TopK {
  readonly #k: number;
  readonly #indexes: Int32Array;
  readonly #scores: Float64Array;
  #count = 0;

  constructor(k: number) {
    this.#k = Math.max(0, k);
    this.#indexes = new Int32Array(this.#k);
    this.#scores = new Float64Array(this.#k);
  }

  offer(index: number, score: number): void {
    const k = this.#k;
    if (k === 0) return;
    if (this.#count === k && score <= this.#scores[k - 1]!) return;
    let at = this.#count < k ? this.#count++ : k - 1;
    while (at > 0 && this.#scores[at - 1]! < score) {
      this.#scores[at] = this.#scores[at - 1]!;
      this.#indexes[at] = this.#indexes[at - 1]!;
      at -= 1;
    }
    this.#scores[at] = score;
    this.#indexes[at] = index;
  }

  sorted(): VectorHit[] {
    const hits: VectorHit[] = [];
    for (let at = 0; at < this.#count; at += 1)
      hits.push({ index: this.#indexes[at]!, score: this.#scores[at]! });
    return hits;
  }
}
