-- Signed records of audit log verifications (docs/security.md, "Verifying"), so `keel audit verify` can continue
-- from the last verified checkpoint instead of re-reading every event. `body` is the exact signed bytes (canonical
-- JSON of format, logId, treeSize, rootHash, checkpointsHash, mode, verifiedAt, keyId) and `signature` an Ed25519
-- signature by the log operator's checkpoint key, base64: a row anyone could insert is worth nothing, so a
-- verifier trusts a row only when its signature verifies with a key it trusts. The columns beside it are copies
-- for queries and people, never evidence.
CREATE TABLE keel_audit_verifications (
  id bigserial PRIMARY KEY,
  tree_size bigint NOT NULL CHECK (tree_size > 0),
  body text NOT NULL,
  signature text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX keel_audit_verifications_tree_size_idx ON keel_audit_verifications (tree_size);
