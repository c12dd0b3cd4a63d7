-- Shadow runs: a candidate version run on a copy of a live run's input, which executes no side-effecting call, asks
-- no person and reaches no user (docs/shadow.md). The run row keeps the live run it shadows, as its run-start does,
-- so the shadow report finds each live run's shadows and user-facing listings leave them out. Plain SQL that PGlite
-- and PostgreSQL run alike.

ALTER TABLE keel_runs ADD COLUMN shadow_of text;

-- The shadows of a live run, and only shadow runs: live runs are not in it.
CREATE INDEX keel_runs_shadow_of_idx ON keel_runs (shadow_of) WHERE shadow_of IS NOT NULL;
