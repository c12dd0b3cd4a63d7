-- The agent registry (issue 5): per agent version, who owns it, its risk tier and scope, where it is in its
-- lifecycle, the deployment gates attested for it, and its reviews. Written by src/registry/ through SqlClient,
-- like the governor's tables; every change is also recorded in keel_registry_history with who and when.

CREATE TABLE keel_registry_agents (
  agent text NOT NULL,
  version text NOT NULL,
  spec_hash text NOT NULL,
  description text NOT NULL,
  owner_team text,
  owner_person text,
  risk_tier smallint NOT NULL CHECK (risk_tier IN (1, 2, 3)),
  -- The tool and data-access scope, derived from the spec and the tools' declarations.
  scope jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('draft', 'in_review', 'active', 'paused', 'retired')),
  registered_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  deployed_at timestamptz,
  last_review_at timestamptz,
  -- An ad-hoc review asked for by an incident or a scope change, until a review is recorded.
  review_requested_at timestamptz,
  review_reason text,
  flags text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (agent, version)
);

-- Deployment gates: one row per attestation (a gate attested again supersedes the earlier row).
CREATE TABLE keel_registry_attestations (
  id bigserial PRIMARY KEY,
  agent text NOT NULL,
  version text NOT NULL,
  gate text NOT NULL,
  attested_by text NOT NULL,
  attested_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  evidence text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}',
  FOREIGN KEY (agent, version) REFERENCES keel_registry_agents (agent, version)
);
CREATE INDEX keel_registry_attestations_agent_idx ON keel_registry_attestations (agent, version, gate);

-- Who did what to which version, and when: status changes, attestations, reviews, incidents, owner changes.
CREATE TABLE keel_registry_history (
  id bigserial PRIMARY KEY,
  agent text NOT NULL,
  version text,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor text NOT NULL,
  action text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX keel_registry_history_agent_idx ON keel_registry_history (agent, at);
