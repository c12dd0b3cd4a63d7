-- Telemetry projections (ARCHITECTURE.md §1, invariant 8): folded from keel_events by the journal projector
-- (src/telemetry/journal-projector.ts), never written by anything else, and rebuilt by deleting them and replaying.

-- One row per run: its trace id, outcome, totals and decision path; what trace-by-id, decision-path search,
-- top-N and latency/cost percentiles read. `projected_seq` is how far the projector has folded the run.
CREATE TABLE keel_telemetry_runs (
  run_id text PRIMARY KEY,
  trace_id text NOT NULL,
  agent text NOT NULL,
  agent_version text NOT NULL,
  tenant text NOT NULL,
  status text NOT NULL,
  started_at timestamptz NOT NULL,
  ended_at timestamptz,
  duration_ms double precision,
  cost_nano_usd bigint NOT NULL,
  input_tokens bigint NOT NULL,
  output_tokens bigint NOT NULL,
  cache_read_tokens bigint NOT NULL,
  cache_write_tokens bigint NOT NULL,
  model_calls integer NOT NULL,
  tool_calls integer NOT NULL,
  tool_errors integer NOT NULL,
  retries integer NOT NULL,
  escalations integer NOT NULL,
  denials integer NOT NULL,
  error_code text,
  tools text[] NOT NULL,
  -- The decision path as '|tool:verb|tool:verb|': a sequence search is one LIKE with '%' between steps.
  path text NOT NULL,
  projected_seq integer NOT NULL
);
CREATE INDEX keel_telemetry_runs_trace_idx ON keel_telemetry_runs (trace_id);
CREATE INDEX keel_telemetry_runs_agent_started_idx ON keel_telemetry_runs (agent, started_at);
CREATE INDEX keel_telemetry_runs_started_idx ON keel_telemetry_runs (started_at);
CREATE INDEX keel_telemetry_runs_tools_idx ON keel_telemetry_runs USING gin (tools);
CREATE INDEX keel_telemetry_runs_live_idx ON keel_telemetry_runs (agent) WHERE status IN ('queued', 'running', 'suspended');

-- One row per model call, for cost by agent, model, phase and day.
CREATE TABLE keel_telemetry_model_calls (
  run_id text NOT NULL,
  seq integer NOT NULL,
  at timestamptz NOT NULL,
  agent text NOT NULL,
  agent_version text NOT NULL,
  provider text NOT NULL,
  model text NOT NULL,
  phase text NOT NULL,
  outcome text NOT NULL,
  input_tokens integer NOT NULL,
  output_tokens integer NOT NULL,
  cache_read_tokens integer NOT NULL,
  cache_write_tokens integer NOT NULL,
  cost_nano_usd bigint NOT NULL,
  duration_ms double precision NOT NULL,
  PRIMARY KEY (run_id, seq)
);
CREATE INDEX keel_telemetry_model_calls_at_idx ON keel_telemetry_model_calls (at);

-- Spend per budget scope and period (agent and tenant days), from budget-reserve scopes and budget-settle amounts.
CREATE TABLE keel_telemetry_budgets (
  scope text NOT NULL,
  period text NOT NULL,
  limit_usd double precision,
  spent_nano_usd bigint NOT NULL,
  PRIMARY KEY (scope, period)
);

-- The projector finds runs with new events through keel_runs.updated_at, which every append sets.
CREATE INDEX keel_runs_updated_at_idx ON keel_runs (updated_at);
