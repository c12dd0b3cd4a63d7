-- Runs and their journals. Plain SQL that PGlite and PostgreSQL 15+ run identically (ARCHITECTURE.md §2.6).

CREATE TABLE keel_runs (
  run_id text PRIMARY KEY,
  agent text NOT NULL,
  agent_version text NOT NULL,
  status text NOT NULL CHECK (
    status IN ('queued', 'running', 'suspended', 'completed', 'failed', 'cancelled', 'budget_exceeded')
  ),
  input text NOT NULL,
  principal jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- The journal's head, kept here so an append reads one locked row instead of the last event.
  last_seq integer NOT NULL CHECK (last_seq >= 0),
  last_hash text NOT NULL,
  answer text,
  error jsonb,
  cancel_requested boolean NOT NULL DEFAULT false,
  idempotency_key text,
  -- The fencing token only ever grows: every grant increments it, release keeps it (invariant 3).
  lease_owner text,
  lease_token bigint NOT NULL DEFAULT 0,
  lease_expires_at timestamptz,
  -- NULL keys are distinct, so runs without a key never collide.
  CONSTRAINT keel_runs_agent_idempotency_key_key UNIQUE (agent, idempotency_key)
);

CREATE INDEX keel_runs_status_updated_at_idx ON keel_runs (status, updated_at);
CREATE INDEX keel_runs_agent_created_at_idx ON keel_runs (agent, created_at);
CREATE INDEX keel_runs_created_at_idx ON keel_runs (created_at);
-- claimRuns scans only runs that can still need a worker; finished runs pile up and must not slow it down.
CREATE INDEX keel_runs_claimable_idx ON keel_runs (created_at)
  WHERE status IN ('queued', 'running', 'suspended');

CREATE TABLE keel_events (
  run_id text NOT NULL REFERENCES keel_runs (run_id),
  seq integer NOT NULL CHECK (seq > 0),
  type text NOT NULL,
  at timestamptz NOT NULL,
  payload jsonb NOT NULL,
  schema_version integer NOT NULL,
  payload_hash text NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL,
  -- The token the writer held: an audit can see which lease wrote each event.
  lease_token bigint NOT NULL,
  PRIMARY KEY (run_id, seq)
);
