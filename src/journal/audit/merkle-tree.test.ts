import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { buildConsistencyProof, buildInclusionProof, memorySubtreeHashes } from "./build-proof.ts";
import { verifyConsistency } from "./consistency-proof.ts";
import { verifyInclusion } from "./inclusion-proof.ts";
import { EMPTY_ROOT, hashLeaf } from "./merkle-hash.ts";
import { merkleRoot, TreeFrontier } from "./merkle-tree.ts";

// An independent reading of RFC 6962 §2.1, written from the text with createHash and Buffer.concat, to hold
// the range-based implementation to.
const sha = (...parts: Uint8Array[]) => createHash("sha256").update(Buffer.concat(parts)).digest();
const leafOf = (data: Uint8Array) => sha(Buffer.from([0]), data);
const split = (n: number) => 2 ** Math.ceil(Math.log2(n) - 1);
function mth(data: Uint8Array[]): Buffer {
  if (data.length === 0) return sha();
  if (data.length === 1) return leafOf(data[0]!);
  const k = split(data.length);
  return sha(Buffer.from([1]), mth(data.slice(0, k)), mth(data.slice(k)));
}
function path(m: number, data: Uint8Array[]): Buffer[] {
  if (data.length === 1) return [];
  const k = split(data.length);
  return m < k
    ? [...path(m, data.slice(0, k)), mth(data.slice(k))]
    : [...path(m - k, data.slice(k)), mth(data.slice(0, k))];
}
function subproof(m: number, data: Uint8Array[], whole: boolean): Buffer[] {
  const n = data.length;
  if (m === n) return whole ? [] : [mth(data)];
  const k = split(n);
  return m <= k
    ? [...subproof(m, data.slice(0, k), whole), mth(data.slice(k))]
    : [...subproof(m - k, data.slice(k), false), mth(data.slice(0, k))];
}

const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`leaf ${i}`));
const hex = (buffers: Buffer[]) => buffers.map((buffer) => buffer.toString("hex"));

function flipByte(buffer: Uint8Array, at: number): Buffer {
  const copy = Buffer.from(buffer);
  copy[at % copy.length]! ^= 0x01;
  return copy;
}

describe("the Merkle tree (RFC 6962)", () => {
  test("matches the published certificate-transparency test vectors", () => {
    const inputs = [
      "",
      "00",
      "10",
      "2021",
      "3031",
      "40414243",
      "5051525354555657",
      "606162636465666768696a6b6c6d6e6f",
    ];
    const roots = [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    const hashes = inputs.map((input) => hashLeaf(Buffer.from(input, "hex")));
    for (const [index, root] of roots.entries()) {
      assert.equal(merkleRoot(hashes.slice(0, index + 1)).toString("hex"), root);
    }
    assert.equal(
      EMPTY_ROOT.toString("hex"),
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });

  test("roots, audit paths and consistency proofs equal the RFC's definitions for every size 1..64", async () => {
    for (let n = 1; n <= 64; n++) {
      const data = leavesOf(n);
      const hashes = data.map(leafOf);
      const lookup = memorySubtreeHashes(hashes);
      const root = mth(data);
      assert.deepEqual(merkleRoot(hashes), root, `root of ${n}`);
      const frontier = new TreeFrontier();
      for (const hash of hashes) frontier.append(hash);
      assert.deepEqual(frontier.root(), root, `frontier root of ${n}`);
      for (let m = 0; m < n; m++) {
        const proof = await buildInclusionProof(m, n, lookup);
        assert.deepEqual(hex(proof), hex(path(m, data)), `PATH(${m}, D[${n}])`);
        assert.ok(verifyInclusion({ index: m, size: n, leafHash: hashes[m]!, path: proof, root }));
      }
      for (let m = 1; m <= n; m++) {
        const proof = await buildConsistencyProof(m, n, lookup);
        assert.deepEqual(hex(proof), hex(subproof(m, data, true)), `PROOF(${m}, D[${n}])`);
        assert.ok(
          verifyConsistency({ oldSize: m, newSize: n, oldRoot: mth(data.slice(0, m)), newRoot: root, proof }),
        );
      }
    }
  });

  test("rejects every single-byte change, wrong index, wrong size, and dropped or extra hash in a proof", async () => {
    for (let n = 1; n <= 40; n++) {
      const data = leavesOf(n);
      const hashes = data.map(leafOf);
      const lookup = memorySubtreeHashes(hashes);
      const root = mth(data);
      for (let m = 0; m < n; m++) {
        const proof = await buildInclusionProof(m, n, lookup);
        const ok = (changes: Partial<Parameters<typeof verifyInclusion>[0]>) =>
          verifyInclusion({ index: m, size: n, leafHash: hashes[m]!, path: proof, root, ...changes });
        assert.equal(ok({ leafHash: flipByte(hashes[m]!, m) }), false);
        assert.equal(ok({ root: flipByte(root, n) }), false);
        proof.forEach((_, i) => {
          assert.equal(ok({ path: proof.map((p, j) => (i === j ? flipByte(p, i + m) : p)) }), false);
        });
        if (n > 1) assert.equal(ok({ index: (m + 1) % n }), false, `index ${m} → ${(m + 1) % n} of ${n}`);
        // A size and root always come together from one signed checkpoint: the next tree's pair fails.
        assert.equal(ok({ size: n + 1, root: mth([...data, Buffer.from("next")]) }), false);
        if (proof.length > 0) assert.equal(ok({ path: proof.slice(1) }), false);
        assert.equal(ok({ path: [...proof, root] }), false);
        assert.equal(ok({ index: n }), false);
      }
      for (let m = 1; m < n; m++) {
        const oldRoot = mth(data.slice(0, m));
        const proof = await buildConsistencyProof(m, n, lookup);
        const ok = (changes: Partial<Parameters<typeof verifyConsistency>[0]>) =>
          verifyConsistency({ oldSize: m, newSize: n, oldRoot, newRoot: root, proof, ...changes });
        assert.equal(ok({}), true);
        assert.equal(ok({ oldRoot: flipByte(oldRoot, m) }), false);
        assert.equal(ok({ newRoot: flipByte(root, m) }), false);
        proof.forEach((_, i) => {
          assert.equal(ok({ proof: proof.map((p, j) => (i === j ? flipByte(p, i) : p)) }), false);
        });
        assert.equal(ok({ proof: proof.slice(1) }), false);
        assert.equal(ok({ proof: [...proof, root] }), false);
        // The same old root cannot be shown consistent with a tree whose history was rewritten.
        const rewritten = data.map((leaf, i) => (i === m - 1 ? Buffer.from("rewritten") : leaf));
        const rewrittenRoot = mth(rewritten);
        const rewrittenProof = await buildConsistencyProof(m, n, memorySubtreeHashes(rewritten.map(leafOf)));
        assert.equal(ok({ newRoot: rewrittenRoot, proof: rewrittenProof }), false);
      }
    }
  });

  test("agrees with the RFC's definitions at random larger sizes", async () => {
    let seed = 7;
    const random = (limit: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % limit;
    };
    for (let round = 0; round < 12; round++) {
      const n = 65 + random(3_000);
      const data = leavesOf(n);
      const hashes = data.map(leafOf);
      const lookup = memorySubtreeHashes(hashes);
      const root = mth(data);
      const frontier = new TreeFrontier();
      for (const hash of hashes) frontier.append(hash);
      assert.deepEqual(frontier.root(), root);
      const m = random(n);
      const inclusion = await buildInclusionProof(m, n, lookup);
      assert.deepEqual(hex(inclusion), hex(path(m, data)));
      assert.ok(verifyInclusion({ index: m, size: n, leafHash: hashes[m]!, path: inclusion, root }));
      const old = 1 + random(n);
      const consistency = await buildConsistencyProof(old, n, lookup);
      assert.deepEqual(hex(consistency), hex(subproof(old, data, true)));
      assert.ok(
        verifyConsistency({
          oldSize: old,
          newSize: n,
          oldRoot: mth(data.slice(0, old)),
          newRoot: root,
          proof: consistency,
        }),
      );
    }
  });

  test("a frontier restored from its peaks continues to the same roots, and whole subtrees append like their leaves", () => {
    const hashes = leavesOf(300).map(leafOf);
    const whole = new TreeFrontier();
    for (const hash of hashes.slice(0, 200)) whole.append(hash);
    const restored = new TreeFrontier({ peaks: whole.peaks, size: whole.size });
    for (const hash of hashes.slice(200)) restored.append(hash);
    assert.deepEqual(restored.root(), merkleRoot(hashes));
    const bySubtree = new TreeFrontier();
    bySubtree.appendSubtree(8, merkleRoot(hashes, 0, 256));
    for (const hash of hashes.slice(256)) bySubtree.append(hash);
    assert.deepEqual(bySubtree.root(), merkleRoot(hashes));
    assert.throws(() => new TreeFrontier({ peaks: whole.peaks, size: 201 }), /does not describe 201 leaves/);
    assert.throws(() => bySubtree.appendSubtree(4, hashes[0]!), /cannot start at leaf 300/);
  });
});
