import assert from "node:assert/strict";
import { test } from "node:test";
import { normalise } from "../models/index.ts";
import { ExactIndex, IvfIndex, seededRandom } from "./vector-index.ts";

/** Unit vectors around `centres` random centres, `dimensions` wide. */
function clustered(count: number, dimensions: number, centres: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const middles = Array.from({ length: centres }, () => Float32Array.from({ length: dimensions }, gaussian));
  const data = new Float32Array(count * dimensions);
  for (let row = 0; row < count; row += 1) {
    const middle = middles[Math.floor(random() * centres)]!;
    const vector = Float32Array.from(middle, (value) => value + 0.6 * gaussian());
    data.set(normalise(vector), row * dimensions);
  }
  return data;
}

test("the exact index returns the k vectors with the largest inner product, best first", () => {
  const data = Float32Array.from([1, 0, 0, 1, 0.6, 0.8, -1, 0]);
  const hits = new ExactIndex(data, 2).search(Float32Array.from([0.8, 0.6]), 3);
  assert.deepEqual(
    hits.map((hit) => hit.index),
    [2, 0, 1],
  );
  assert.ok(Math.abs(hits[0]!.score - 0.96) < 1e-6);
});

test("the IVF index finds at least 95% of the exact top 10 with a fifth of its lists probed", () => {
  const dimensions = 32;
  const data = clustered(20_000, dimensions, 50, 7);
  const queries = clustered(100, dimensions, 50, 8);
  const exact = new ExactIndex(data, dimensions);
  const ivf = new IvfIndex(data, dimensions, { lists: 100, probes: 20 });
  let found = 0;
  for (let at = 0; at < 100; at += 1) {
    const query = queries.subarray(at * dimensions, (at + 1) * dimensions);
    const truth = new Set(exact.search(query, 10).map((hit) => hit.index));
    found += ivf.search(query, 10).filter((hit) => truth.has(hit.index)).length;
  }
  assert.ok(found / 1_000 >= 0.95, `recall@10 was ${found / 1_000}`);
});

test("an IVF index probing every list is exact", () => {
  const dimensions = 16;
  const data = clustered(2_000, dimensions, 10, 3);
  const query = clustered(1, dimensions, 10, 4);
  const ivf = new IvfIndex(data, dimensions, { lists: 20, probes: 20 });
  assert.deepEqual(
    ivf.search(query, 10).map((hit) => hit.index),
    new ExactIndex(data, dimensions).search(query, 10).map((hit) => hit.index),
  );
});

test("a two-level IVF index (256 lists or more) files every vector once and is exact with every list probed", () => {
  const dimensions = 16;
  const data = clustered(5_000, dimensions, 40, 5);
  const ivf = new IvfIndex(data, dimensions, { lists: 256 });
  assert.equal(ivf.lists, 256);
  ivf.probes = ivf.lists;
  const exact = new ExactIndex(data, dimensions);
  for (let seed = 0; seed < 5; seed += 1) {
    const query = clustered(1, dimensions, 40, 100 + seed);
    assert.deepEqual(
      ivf.search(query, 10).map((hit) => hit.index),
      exact.search(query, 10).map((hit) => hit.index),
    );
  }
  const everything = ivf.search(data.subarray(0, dimensions), 5_000);
  assert.equal(new Set(everything.map((hit) => hit.index)).size, 5_000);
});
