-- Judge calibrations: each time `keel eval calibrate` measures an LLM judge against human labels with a database,
-- its agreement is kept, so the console and the API can show a judge's standing and how it changed. Like
-- keel_eval_runs, a row names its agent, and the agent's tenant owns it. Plain SQL that PGlite and PostgreSQL run alike.

-- One row per judge per calibration. The headline columns are the criterion with the lowest κ (the one that
-- decides whether the judge may gate); `criteria` holds every criterion's κ, interval, agreement, label count and
-- confusion matrix (rows: people, columns: judge).
CREATE TABLE keel_judge_calibrations (
  calibration_id text PRIMARY KEY,
  agent text NOT NULL,
  version text NOT NULL,
  judge text NOT NULL,
  rubric_hash text NOT NULL,
  labels_file text NOT NULL,
  labels_hash text NOT NULL,
  labels integer NOT NULL,
  kappa double precision NOT NULL,
  kappa_low double precision NOT NULL,
  kappa_high double precision NOT NULL,
  agreement double precision NOT NULL,
  trusted boolean NOT NULL,
  criteria jsonb NOT NULL,
  reasons jsonb NOT NULL,
  bar jsonb NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX keel_judge_calibrations_by_judge ON keel_judge_calibrations (agent, judge, created_at DESC);
CREATE INDEX keel_judge_calibrations_by_agent ON keel_judge_calibrations (agent, created_at DESC);
