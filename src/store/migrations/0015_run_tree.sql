-- Run trees, signals and durable timers. Plain SQL that PGlite and PostgreSQL run identically.

-- A child run names the run and node that started it, and the top of its tree (NULL on a top-level run, whose
-- tree it heads itself). Copied from the child's run-start event, like the tenant, so a tree is walked on columns.
ALTER TABLE keel_runs ADD COLUMN parent_run_id text REFERENCES keel_runs (run_id);
ALTER TABLE keel_runs ADD COLUMN parent_node text;
ALTER TABLE keel_runs ADD COLUMN root_run_id text;
-- A run's children, oldest first: the tree walk, the children page and cancel's descent all read this index.
CREATE INDEX keel_runs_parent_idx ON keel_runs (parent_run_id, created_at, run_id) WHERE parent_run_id IS NOT NULL;

-- When a suspended run's durable timer comes due (its run-suspend's wait.until), set by the append that journals
-- the run-suspend and cleared when the run leaves `suspended`. claimRuns takes a run once the database clock
-- passes it; this index holds only the runs with a timer running, so waiting runs cost the claim nothing else.
ALTER TABLE keel_runs ADD COLUMN wake_at timestamptz;
CREATE INDEX keel_runs_wake_at_idx ON keel_runs (wake_at) WHERE status = 'suspended' AND wake_at IS NOT NULL;
