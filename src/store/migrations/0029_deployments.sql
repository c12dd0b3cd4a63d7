-- Deployments: how traffic moves between a stable and a candidate version of an agent (docs/rollout.md). One row
-- per deployment with its current state; its history (start, each stage, each verdict with its evidence, each
-- person's action) is append-only beside it. Each run a deployment assigned carries the assignment, as its
-- run-start does. Plain SQL that PGlite and PostgreSQL run alike.

CREATE TABLE keel_deployments (
  deployment_id text PRIMARY KEY,
  agent text NOT NULL,
  tenant text NOT NULL,
  stable_version text NOT NULL,
  candidate_version text NOT NULL,
  strategy text NOT NULL CHECK (strategy IN ('direct', 'shadow', 'canary', 'ab')),
  state text NOT NULL CHECK (state IN ('running', 'paused', 'promoted', 'rolled_back', 'aborted', 'ended')),
  stickiness text NOT NULL CHECK (stickiness IN ('user', 'session', 'run')),
  -- The ramp (canary) or the fixed split (ab, direct, shadow) as it was when the deployment started.
  plan jsonb NOT NULL,
  -- Index into plan.stages; the share of new runs the candidate takes now, 0 to 100.
  stage integer NOT NULL,
  candidate_percent double precision NOT NULL,
  stage_started_at timestamptz NOT NULL,
  started_by text NOT NULL,
  started_at timestamptz NOT NULL,
  updated_by text NOT NULL,
  updated_at timestamptz NOT NULL,
  ended_at timestamptz
);
-- At most one deployment of an agent moves traffic (running or paused) at a time.
CREATE UNIQUE INDEX keel_deployments_open_idx ON keel_deployments (agent) WHERE state IN ('running', 'paused');
CREATE INDEX keel_deployments_agent_idx ON keel_deployments (agent, started_at DESC);

-- What happened to a deployment, in order: kind is started, advanced, verdict, paused, resumed, promoted,
-- rolled_back, aborted or ended; evidence is the verdict and the samples it was judged on, where there was one.
CREATE TABLE keel_deployment_events (
  deployment_id text NOT NULL REFERENCES keel_deployments (deployment_id),
  seq integer NOT NULL,
  kind text NOT NULL,
  stage integer NOT NULL,
  candidate_percent double precision NOT NULL,
  actor text NOT NULL,
  reason text NOT NULL,
  evidence jsonb,
  at timestamptz NOT NULL,
  PRIMARY KEY (deployment_id, seq)
);

-- The assignment of a run, as its run-start journals it: {deployment, arm, key, keyKind}.
ALTER TABLE keel_runs ADD COLUMN rollout jsonb;
CREATE INDEX keel_runs_deployment_idx ON keel_runs ((rollout ->> 'deployment'), created_at)
  WHERE rollout IS NOT NULL;
