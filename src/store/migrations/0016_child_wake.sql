-- A parent run suspended on its child runs is woken by the store when one of them ends. Plain SQL that PGlite and
-- PostgreSQL run identically.

-- How many of this run's children have ended: the commit that journals a child's run-end adds one, under the
-- parent's row lock, in the same transaction.
ALTER TABLE keel_runs ADD COLUMN children_ended integer NOT NULL DEFAULT 0;
-- While the run is suspended on its children (its run-suspend's wait.children): how many child ends its journal
-- holds. Once children_ended passes it, wake_at is set to the commit's time, so the next claim takes the run and
-- journals why (a child ended, not a timer). Cleared, like wake_at, when the run leaves `suspended`.
ALTER TABLE keel_runs ADD COLUMN children_awaited integer;
