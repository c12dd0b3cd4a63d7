-- The model gateway's state: budget counters and reservations, budget alerts fired, and one cost record per
-- model call (agent runs and the governed endpoint). Plain SQL that PGlite and PostgreSQL run identically.

-- One counter per budget scope ('run:<id>', 'agent:<name>', 'tenant:<id>', 'key:<id>') and period ('run' or a
-- UTC day). Money is in nano-dollars so sums are exact. A reservation raises `reserved_*` only while
-- spent + reserved stays within the limit the caller passes, in one conditional UPDATE (invariant 4).
CREATE TABLE keel_budget_counters (
  scope text NOT NULL,
  period text NOT NULL,
  spent_nano_usd bigint NOT NULL DEFAULT 0 CHECK (spent_nano_usd >= 0),
  reserved_nano_usd bigint NOT NULL DEFAULT 0 CHECK (reserved_nano_usd >= 0),
  spent_tokens bigint NOT NULL DEFAULT 0 CHECK (spent_tokens >= 0),
  reserved_tokens bigint NOT NULL DEFAULT 0 CHECK (reserved_tokens >= 0),
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (scope, period)
);

-- A reservation names the counters it holds (with their limits and alert thresholds, for settling).
-- An open reservation past expires_at (its caller died) is released by the next refused reservation.
CREATE TABLE keel_budget_reservations (
  reservation_id text PRIMARY KEY,
  counters jsonb NOT NULL,
  nano_usd bigint NOT NULL CHECK (nano_usd >= 0),
  tokens bigint NOT NULL CHECK (tokens >= 0),
  status text NOT NULL CHECK (status IN ('open', 'settled', 'released')),
  settled_nano_usd bigint,
  settled_tokens bigint,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX keel_budget_reservations_open_idx ON keel_budget_reservations (expires_at) WHERE status = 'open';

-- An alert threshold fires once per scope and period: the primary key is the dedupe.
CREATE TABLE keel_budget_alerts (
  scope text NOT NULL,
  period text NOT NULL,
  threshold double precision NOT NULL,
  spent_nano_usd bigint NOT NULL,
  spent_tokens bigint NOT NULL,
  fired_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (scope, period, threshold)
);

-- Tokens and cost of every model call, with who made it and why that model: the cost ledger. Run calls are
-- also in their run's journal; governed-endpoint calls have no run, and this row is their record.
CREATE TABLE keel_model_calls (
  call_id text PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  origin text NOT NULL CHECK (origin IN ('run', 'endpoint')),
  tenant text NOT NULL,
  agent text NOT NULL,
  agent_version text NOT NULL,
  run_id text,
  api_key text,
  phase text NOT NULL,
  provider text NOT NULL,
  model text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('ok', 'error')),
  error_class text,
  input_tokens integer NOT NULL,
  output_tokens integer NOT NULL,
  cache_read_tokens integer NOT NULL,
  cache_write_tokens integer NOT NULL,
  reasoning_tokens integer NOT NULL,
  cost_nano_usd bigint NOT NULL,
  price_table_version text NOT NULL,
  routing_reason text NOT NULL,
  response_cache text NOT NULL,
  attempts jsonb NOT NULL,
  duration_ms double precision NOT NULL
);
CREATE INDEX keel_model_calls_agent_at_idx ON keel_model_calls (agent, at);
CREATE INDEX keel_model_calls_tenant_at_idx ON keel_model_calls (tenant, at);
