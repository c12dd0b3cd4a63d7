-- Runs waiting for a person (suspended) can number in the hundreds of thousands and wait for days. claimRuns
-- looks only for runs that need a worker; the older claimable index also holds every suspended run, so each
-- claim walked past all of them. This index holds exactly the runs claimRuns can take (the predicate is the
-- query's own), so claiming costs the same with 0 or 100,000 runs suspended (invariant 7).
CREATE INDEX keel_runs_needs_worker_idx ON keel_runs (created_at)
  WHERE status IN ('queued', 'running') OR (status = 'suspended' AND cancel_requested);
