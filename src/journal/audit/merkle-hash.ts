import { hash } from "node:crypto";

/** Bytes in a SHA-256 digest, the size of every leaf and node hash. */
export const HASH_BYTES = 32;

/** MTH of the empty tree (RFC 6962 §2.1): SHA-256 of no bytes. */
export const EMPTY_ROOT: Buffer = hash("sha256", Buffer.alloc(0), "buffer");

/** The RFC 6962 leaf hash: SHA-256(0x00 || leaf bytes), so a leaf can never pass for an interior node. */
export function hashLeaf(leaf: string | Uint8Array): Buffer {
  if (typeof leaf === "string") return hash("sha256", `\u0000${leaf}`, "buffer");
  const bytes = Buffer.allocUnsafe(leaf.length + 1);
  bytes[0] = 0;
  bytes.set(leaf, 1);
  return hash("sha256", bytes, "buffer");
}

// One scratch buffer per thread: node hashing runs millions of times during a verify, and
// `crypto.hash` copies its input, so reusing it is safe and spares an allocation per node.
const scratch = Buffer.alloc(1 + 2 * HASH_BYTES);
scratch[0] = 1;

/** The RFC 6962 interior node hash: SHA-256(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  scratch.set(left, 1);
  scratch.set(right, 1 + HASH_BYTES);
  return hash("sha256", scratch, "buffer");
}

/** The largest power of two strictly less than `n` (n ≥ 2): RFC 6962's split point. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
