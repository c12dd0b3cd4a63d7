-- The tamper-evident audit log (docs/security.md, "Audit log"): every journal event is a leaf of one RFC 6962
-- Merkle tree in a single global order, with Ed25519-signed checkpoints. Plain SQL that PGlite and PostgreSQL
-- run alike.

-- The log's identity and size. `size` is a counter advanced in the same transaction as the events it numbers:
-- an append takes this row's lock as its last step and holds it to COMMIT, so leaf indexes are handed out in
-- commit order with no gaps (a transaction that rolls back gives its numbers back). A sequence would leave gaps
-- on rollback, and with several writers could number an event before another that commits earlier, so a
-- checkpoint taken in between would later see a leaf appear inside the tree it signed.
CREATE TABLE keel_audit_log (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  log_id text NOT NULL,
  size bigint NOT NULL CHECK (size >= 0)
);

-- Events journaled before this migration join the log run by run, each run's events in seq order.
ALTER TABLE keel_events ADD COLUMN leaf_index bigint;
UPDATE keel_events AS e
   SET leaf_index = ordered.leaf_index
  FROM (
    SELECT e2.run_id, e2.seq, row_number() OVER (ORDER BY r.created_at, e2.run_id, e2.seq) - 1 AS leaf_index
      FROM keel_events AS e2 JOIN keel_runs AS r ON r.run_id = e2.run_id
  ) AS ordered
 WHERE e.run_id = ordered.run_id AND e.seq = ordered.seq;
ALTER TABLE keel_events ALTER COLUMN leaf_index SET NOT NULL;
CREATE UNIQUE INDEX keel_events_leaf_index_idx ON keel_events (leaf_index);
INSERT INTO keel_audit_log (log_id, size) SELECT gen_random_uuid()::text, count(*) FROM keel_events;

-- Signed checkpoints: `body` is the exact signed bytes (canonical JSON of format, logId, treeSize, rootHash,
-- timestamp, keyId), `signature` the Ed25519 signature, base64. `frontier` is the tree's right edge at this
-- size (peaks, largest first), where the next checkpoint resumes hashing: a cache, never evidence.
CREATE TABLE keel_audit_checkpoints (
  tree_size bigint PRIMARY KEY CHECK (tree_size > 0),
  body text NOT NULL,
  signature text NOT NULL,
  frontier jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Hashes of the perfect subtrees at every fourth level (16, 256, 4096… leaves), written with each checkpoint, so a
-- proof reads O(log n) rows instead of rehashing the log. Also a cache: a proof built from a wrong row fails
-- against the signed root, and `keel audit verify` recomputes everything from the events.
CREATE TABLE keel_audit_nodes (
  level smallint NOT NULL CHECK (level > 0),
  index bigint NOT NULL CHECK (index >= 0),
  hash bytea NOT NULL,
  PRIMARY KEY (level, index)
);

-- The log operator's Ed25519 public keys (32 raw bytes, base64) by key id. `private_pkcs8` holds the private key
-- Keel generated for itself; it is NULL for a key kept outside the database (KEEL_AUDIT_KEY_FILE).
CREATE TABLE keel_audit_keys (
  key_id text PRIMARY KEY,
  public_key text NOT NULL,
  private_pkcs8 text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- At most one generated key, so two processes starting at once sign with the same one.
CREATE UNIQUE INDEX keel_audit_keys_generated_idx ON keel_audit_keys ((private_pkcs8 IS NOT NULL))
  WHERE private_pkcs8 IS NOT NULL;
