-- Sessions: threads of runs of one agent for one principal. The thread's messages are not stored here: they are a
-- projection of its runs (each run's journaled input and answer). Plain SQL that PGlite and PostgreSQL run
-- identically.

CREATE TABLE keel_sessions (
  session_id text PRIMARY KEY,
  agent text NOT NULL,
  tenant text NOT NULL,
  -- The principal that opened the session: {subject, tenant, roles}.
  principal jsonb NOT NULL,
  -- Who the thread is about (the end user), when the caller names one; else the principal's subject.
  subject text NOT NULL,
  metadata jsonb,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Set by DELETE: a deleted session takes no messages and reads as absent.
  deleted_at timestamptz
);

CREATE INDEX keel_sessions_tenant_agent_created_idx ON keel_sessions (tenant, agent, created_at DESC);

-- The ordered runs of a session: turn n is the run its n-th message started.
CREATE TABLE keel_session_runs (
  session_id text NOT NULL REFERENCES keel_sessions (session_id),
  turn integer NOT NULL CHECK (turn > 0),
  run_id text NOT NULL UNIQUE REFERENCES keel_runs (run_id),
  PRIMARY KEY (session_id, turn)
);
