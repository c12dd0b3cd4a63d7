-- The governor's state (ARCHITECTURE.md §1): agent service identities, kill switches, capability revocations and
-- rate-limit token buckets. Plain SQL that PGlite and PostgreSQL run identically.

-- One Ed25519 key pair per agent version; a revoked key signs nothing and verifies nothing.
CREATE TABLE keel_agent_keys (
  kid text PRIMARY KEY,
  agent text NOT NULL,
  agent_version text NOT NULL,
  public_jwk jsonb NOT NULL,
  private_pkcs8 text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  revoked_at timestamptz
);
-- At most one live key per agent version, so two processes starting at once agree on it.
CREATE UNIQUE INDEX keel_agent_keys_live_idx ON keel_agent_keys (agent, agent_version) WHERE revoked_at IS NULL;

-- A kill switch per agent, per tenant, or for everything ('all', '*'). Resume deletes the row.
CREATE TABLE keel_kill_switches (
  scope text NOT NULL CHECK (scope IN ('all', 'tenant', 'agent')),
  target text NOT NULL,
  reason text NOT NULL,
  killed_by text NOT NULL,
  killed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (scope, target)
);

-- Revoked capability tokens (by jti) and runs whose tokens are all revoked.
CREATE TABLE keel_capability_revocations (
  kind text NOT NULL CHECK (kind IN ('token', 'run')),
  value text NOT NULL,
  revoked_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (kind, value)
);

-- Token buckets: tokens left and when they were counted (milliseconds since the epoch, from the governor's clock).
CREATE TABLE keel_rate_buckets (
  key text PRIMARY KEY,
  tokens double precision NOT NULL,
  updated_at_ms bigint NOT NULL
);
