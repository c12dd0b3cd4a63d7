/**
 * The README written into every audit bundle: how to verify it with nothing but the files, step by step, so an
 * auditor can do it without Keel. docs/security.md ("Audit log") carries the same procedure.
 */
export const BUNDLE_README = `# Keel audit bundle

This directory is evidence exported from a Keel audit log: journal events and the signed checkpoints
that commit to them. With Keel installed, \`keel audit verify-bundle <this directory> --public-key
operator.pem\` runs every step below. Without Keel, any language with SHA-256, Ed25519 and JSON will do.

Files: manifest.json (what is in the bundle), events.jsonl (one event per line), checkpoints.json
(signed checkpoints, oldest first), public-keys.json (the log's public keys), proofs.json (inclusion and
consistency proofs, hex).

1. Keys. Get the log operator's Ed25519 public key from the operator, not from this bundle (the bundle's
   own keys only show that it is self-consistent). In public-keys.json, \`publicKey\` is the 32 raw key
   bytes in base64; a key's id is the first 16 hex digits of SHA-256 over those 32 bytes.
2. Checkpoints. Each entry of checkpoints.json has \`body\`, the exact signed bytes, and \`signature\`, 64
   bytes of Ed25519 in base64. Parse the body: it has exactly the fields format
   ("keel-audit-checkpoint/1"), logId, treeSize (integer, at least 1), rootHash (64 lowercase hex
   digits), timestamp (ISO 8601 UTC with milliseconds) and keyId; serialising it again as RFC 8785
   canonical JSON must give the body byte for byte. Verify the signature over the body's UTF-8 bytes with
   the trusted key whose id is keyId. Every logId equals manifest.json's logId; treeSize strictly grows
   and timestamp never decreases from one checkpoint to the next; the last treeSize equals the manifest's.
3. Consistency. For each pair of consecutive checkpoints (sizes m < n), proofs.json \`consistency\` holds
   {oldSize: m, newSize: n, proof}; verify it with the two root hashes as RFC 9162 section 2.1.4.2 says.
4. Events. Each line of events.jsonl is a leaf's exact bytes: the RFC 8785 canonical JSON of an object
   with exactly at, hash, leaseToken, payload, payloadHash, prevHash, runId, schemaVersion, seq and type.
   Check that parsing and serialising the line again gives the same bytes; that payloadHash is the hex
   SHA-256 of the canonical JSON of payload; that hash is the hex SHA-256 of the UTF-8 text
   prevHash + "\\n" + runId + "\\n" + seq + "\\n" + type + "\\n" + at + "\\n" + payloadHash; and that, run by
   run in file order, seq counts 1, 2, 3… with each prevHash equal to the previous event's hash (64 zeros
   before seq 1).
5. Tree (RFC 6962 section 2.1). A leaf hash is SHA-256(0x00 || line bytes), an interior node
   SHA-256(0x01 || left || right), and the root of n > 1 leaves splits them at k, the largest power of two
   smaller than n.
   - manifest.scope.kind "log": line i (counting from 1) is leaf i - 1 and there are exactly treeSize lines.
     For every checkpoint, the root of its first treeSize leaves must equal its rootHash.
   - manifest.scope.kind "run": proofs.json \`inclusion\` has one entry {line, leafIndex, path} per line, with
     leafIndex growing line by line and below treeSize. Verify each path as RFC 9162 section 2.1.3.2 says,
     from the line's leaf hash to the newest checkpoint's rootHash.

If every step passes, these events are exactly the ones the operator's log held when it signed the newest
checkpoint, in that order. Any failure means the bundle, or the log it came from, was changed.
`;
