-- A running run's steps update its row without changing an indexed column (updated_at is left alone while the run
-- stays running), so PostgreSQL can update the row in place on its page (HOT) and add no index entries. That needs
-- room on the page: leave a fifth of each new page free for the next version of its rows.
ALTER TABLE keel_runs SET (fillfactor = 80);
