-- Sealed tool-call arguments: when redaction masks a proposed call's arguments before they are journaled, the
-- original arguments are kept here encrypted (AES-256-GCM, key from KEEL_SECRET_KEY or the data directory's key
-- file), so a run resumed after a restart — a held call approved hours later — executes exactly what was
-- proposed. Rows are found by the argument hash the journal keeps, and dropped when the run ends.
CREATE TABLE keel_sealed_arguments (
  run_id text NOT NULL REFERENCES keel_runs (run_id) ON DELETE CASCADE,
  arguments_hash text NOT NULL,
  key_id text NOT NULL,
  nonce text NOT NULL,
  ciphertext text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, arguments_hash)
);
