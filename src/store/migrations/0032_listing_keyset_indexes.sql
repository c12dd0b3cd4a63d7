-- Listings page on (created_at, id), newest first: a page starts after the last row's stored instant and id
-- (`(created_at, run_id) < ($1, $2)`), since rows written in one transaction share one created_at and a millisecond
-- cursor would skip them. These indexes hold a tenant's rows in exactly that order, so a page reads its own rows
-- and no other tenant's. Each replaces the index it extends, which served the same queries less well. Plain SQL that
-- PGlite and PostgreSQL run alike.

CREATE INDEX keel_runs_tenant_created_at_run_idx ON keel_runs (tenant, created_at, run_id);
DROP INDEX keel_runs_tenant_created_at_idx;

CREATE INDEX keel_sessions_tenant_created_session_idx ON keel_sessions (tenant, created_at, session_id);
CREATE INDEX keel_sessions_tenant_agent_created_session_idx ON keel_sessions (tenant, agent, created_at, session_id);
DROP INDEX keel_sessions_tenant_agent_created_idx;
