-- Crypto-shredding of a person's data. A run may name its data subject (the person it is about: a session's runs
-- take the session's); the personal fields of its journal payloads are then stored sealed (AES-256-GCM) under a key
-- kept here, one per (tenant, subject), and the hash chain is taken over the sealed form. Erasing the subject deletes
-- its key row: the sealed fields can no longer be opened, while every hash, and so the audit log, still verifies.
-- Journal payloads name a key by `key_id` (random, so it says nothing of the person); `subject` is the only place the
-- subject's id is kept beside it, and it goes with the row.
CREATE TABLE keel_subject_keys (
  key_id text PRIMARY KEY,
  tenant text NOT NULL,
  subject text NOT NULL,
  key bytea NOT NULL CHECK (octet_length(key) = 32),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (tenant, subject)
);

-- The run's data subject and the key its payloads are sealed with; both NULL for a run about no one (and cleared
-- when the subject is erased: the run then names no one).
ALTER TABLE keel_runs ADD COLUMN subject text;
ALTER TABLE keel_runs ADD COLUMN subject_key_id text;

CREATE INDEX keel_runs_subject_idx ON keel_runs (tenant, subject) WHERE subject IS NOT NULL;
CREATE INDEX keel_runs_subject_key_idx ON keel_runs (subject_key_id) WHERE subject_key_id IS NOT NULL;
