-- Who asked for a run's cancel, and why: the runtime journals it (`run-cancel`) when it ends the run. Plain SQL that
-- PGlite and PostgreSQL run identically.

-- {"by": the requester's subject, "reason": text (optional)}; null while no cancel was requested. A cancel of a
-- tree gives each descendant it marks the same "by" and a reason naming the run whose cancel reached it; a child
-- created under a cancelled parent takes its parent's.
ALTER TABLE keel_runs ADD COLUMN cancel_request jsonb;
-- Cancels requested before this column existed are still carried out; their requester was not kept.
UPDATE keel_runs SET cancel_request = '{"by": "unknown", "reason": "requested before requesters were recorded"}'
 WHERE cancel_requested AND status IN ('queued', 'running', 'suspended');
