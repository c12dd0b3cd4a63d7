-- Leaf indexes assigned after commit, by a sequencer, instead of by a counter every append locked to COMMIT
-- (docs/security.md, "Audit log"). An append writes its events with no leaf index and a commit marker drawn from a
-- sequence after the run row is locked; the sequencer (assignLeafIndexes) takes the log row's lock, numbers the
-- committed unnumbered events from the log's size on, in commit-marker order, and advances the size in the same
-- transaction. It sees committed rows only, so a leaf index once given is never given again and the numbered
-- prefix only grows (no gap: numbers go only to rows that exist); an event whose transaction committed before
-- another's took its marker gets the smaller index, and a run's later seq always took its marker after its earlier
-- seq committed (it needed the head that commit wrote), so a run's leaves stay in seq order.
CREATE SEQUENCE keel_events_commit_marker_seq;
ALTER TABLE keel_events ADD COLUMN commit_marker bigint;
ALTER TABLE keel_events ALTER COLUMN commit_marker SET DEFAULT nextval('keel_events_commit_marker_seq');
ALTER TABLE keel_events ALTER COLUMN leaf_index DROP NOT NULL;
-- The sequencer finds unnumbered events through keel_events_leaf_index_idx, which indexes NULLs too, and sorts that
-- tail by marker; an index of its own would cost every append another entry.
