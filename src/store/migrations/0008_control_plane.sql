-- The control plane (issue 6): API keys scoped to a tenant and roles, the tenant of every run, and which tenant
-- each agent belongs to. Plain SQL that PGlite and PostgreSQL run identically.

-- One row per API key. The secret is never stored: only the SHA-256 of the 32 random bytes shown once at creation.
CREATE TABLE keel_api_keys (
  key_id text PRIMARY KEY,
  secret_hash text NOT NULL,
  tenant text NOT NULL,
  roles text[] NOT NULL,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  created_by text NOT NULL,
  last_used_at timestamptz,
  revoked_at timestamptz
);
CREATE INDEX keel_api_keys_tenant_idx ON keel_api_keys (tenant, created_at);

-- A run acts for one tenant: the tenant of the principal in its run-start event, copied here so every listing
-- filters on a column instead of inside jsonb.
ALTER TABLE keel_runs ADD COLUMN tenant text NOT NULL DEFAULT 'default';
UPDATE keel_runs SET tenant = principal ->> 'tenant' WHERE principal ->> 'tenant' IS NOT NULL;
CREATE INDEX keel_runs_tenant_created_at_idx ON keel_runs (tenant, created_at);

-- The tenant each agent served so far belongs to (its spec's `tenant`), remembered after the agent stops being
-- served so its registry entries stay with that tenant.
CREATE TABLE keel_agent_tenants (
  agent text PRIMARY KEY,
  tenant text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
