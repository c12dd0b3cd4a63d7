-- Leaf numbers kept out of the event rows (docs/security.md, "Audit log"). Numbering used to rewrite every event row
-- (a second version of each row, and entries in the leaf index), which cost more WAL than the append itself. Now the
-- sequencer writes one narrow row per run and stretch of consecutive leaves, and an event's leaf index is computed:
-- the range's first leaf plus how far the event's seq is past the range's first seq.

-- What an append leaves for the sequencer: one row per run per committing statement, its events' first seq and how
-- many, with a commit marker drawn (as before, migration 0012) after the run row is locked. No index: the sequencer
-- reads the whole (short) queue and deletes what it numbers.
CREATE TABLE keel_audit_pending (
  commit_marker bigint NOT NULL DEFAULT nextval('keel_events_commit_marker_seq'),
  run_id text NOT NULL,
  first_seq integer NOT NULL CHECK (first_seq > 0),
  count integer NOT NULL CHECK (count > 0)
);

-- Numbered stretches: leaves first_leaf … first_leaf + count - 1 are the run's events first_seq … first_seq + count - 1.
-- The sequencer gives stretches in commit-marker order from the log's size on, exactly as it gave single leaves, so
-- the log stays gapless and commit-ordered and a run's leaves stay in seq order (migration 0012's argument holds
-- unchanged: only what a row stands for changed).
CREATE TABLE keel_audit_ranges (
  first_leaf bigint PRIMARY KEY,
  run_id text NOT NULL,
  first_seq integer NOT NULL,
  count integer NOT NULL CHECK (count > 0)
);
-- One run's leaves (an export's or a proof's), and the leaf of one event.
CREATE INDEX keel_audit_ranges_run_idx ON keel_audit_ranges (run_id, first_seq);

-- Numbered events become ranges: each stretch where a run's leaves and seqs both advance by one is one range, so the
-- mapping from leaf to event is kept exactly, whatever it is.
INSERT INTO keel_audit_ranges (first_leaf, run_id, first_seq, count)
SELECT min(leaf_index), run_id, min(seq), count(*)::integer
  FROM (
    SELECT leaf_index, run_id, seq,
           leaf_index - row_number() OVER (PARTITION BY run_id ORDER BY leaf_index) AS leaf_step,
           seq - row_number() OVER (PARTITION BY run_id ORDER BY leaf_index) AS seq_step
      FROM keel_events WHERE leaf_index IS NOT NULL
  ) AS numbered
 GROUP BY run_id, leaf_step, seq_step;

-- Events the sequencer had not reached wait in the queue, in the order it would have numbered them.
INSERT INTO keel_audit_pending (commit_marker, run_id, first_seq, count)
SELECT coalesce(commit_marker, 0), run_id, seq, 1 FROM keel_events WHERE leaf_index IS NULL;

DROP INDEX keel_events_leaf_index_idx;
ALTER TABLE keel_events DROP COLUMN leaf_index;
ALTER TABLE keel_events DROP COLUMN commit_marker;
