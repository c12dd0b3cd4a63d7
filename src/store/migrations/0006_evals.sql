-- Evals: eval runs with their results and gate verdicts, and the evaluation and feedback events recorded about
-- runs after they ended (a run's own journal closes at run-end). Plain SQL that PGlite and PostgreSQL run alike.

-- One row per eval run of one dataset against one agent version. `result` is the whole EvalRunResult (cases,
-- grades, summaries); the columns beside it are what the lifecycle gate and comparisons look up.
CREATE TABLE keel_eval_runs (
  eval_run_id text PRIMARY KEY,
  agent text NOT NULL,
  version text NOT NULL,
  dataset text NOT NULL,
  dataset_version text NOT NULL,
  pass_rate double precision NOT NULL,
  gate_passed boolean,
  result jsonb NOT NULL,
  gate jsonb,
  created_at timestamptz NOT NULL
);
CREATE INDEX keel_eval_runs_by_version ON keel_eval_runs (agent, version, dataset, created_at DESC);

-- Append-only: scores given to runs by production sampling (`evaluation`) and by people (`feedback`). Payloads
-- follow the schemas of the same names in the journal's vocabulary; `payload_hash` is their canonical hash.
CREATE TABLE keel_evaluation_events (
  event_id bigserial PRIMARY KEY,
  type text NOT NULL CHECK (type IN ('evaluation', 'feedback')),
  run_id text NOT NULL,
  agent text NOT NULL,
  version text NOT NULL,
  payload jsonb NOT NULL,
  payload_hash text NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX keel_evaluation_events_by_run ON keel_evaluation_events (run_id, event_id);
CREATE INDEX keel_evaluation_events_by_agent ON keel_evaluation_events (agent, type, at);
