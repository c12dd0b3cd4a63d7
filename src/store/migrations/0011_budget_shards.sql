-- Budget counters spread over shards, so concurrent reservations on one hot counter (an API key's day) mostly
-- lock different rows. Each shard row holds a slice of the cap (its allowance) and admits a reservation on its
-- own only while its spent + reserved stays within that slice; slices are granted, and reclaimed when the cap is
-- nearly used up, only under the counter's lock row, so the slices never add up to more than the cap
-- (docs/models.md, "Budgets"). A counter's spend is the sum over its shards.
ALTER TABLE keel_budget_counters ADD COLUMN shard integer NOT NULL DEFAULT 0 CHECK (shard >= 0);
-- The caps the slices were granted under: a shard whose caps differ from a caller's sends it to the locked path.
ALTER TABLE keel_budget_counters ADD COLUMN cap_nano_usd bigint;
ALTER TABLE keel_budget_counters ADD COLUMN cap_tokens bigint;
ALTER TABLE keel_budget_counters ADD COLUMN allowance_nano_usd bigint NOT NULL DEFAULT 0 CHECK (allowance_nano_usd >= 0);
ALTER TABLE keel_budget_counters ADD COLUMN allowance_tokens bigint NOT NULL DEFAULT 0 CHECK (allowance_tokens >= 0);
-- Counters from before shards keep their totals on shard 0 with no slice left, so their next reservation takes
-- the locked path and the cap is shared out afresh.
UPDATE keel_budget_counters
   SET allowance_nano_usd = spent_nano_usd + reserved_nano_usd, allowance_tokens = spent_tokens + reserved_tokens;
ALTER TABLE keel_budget_counters DROP CONSTRAINT keel_budget_counters_pkey;
ALTER TABLE keel_budget_counters ADD PRIMARY KEY (scope, period, shard);

-- One row per counter, locked to grant or reclaim slices: the only place shards' allowances change.
CREATE TABLE keel_budget_counter_locks (
  scope text NOT NULL,
  period text NOT NULL,
  PRIMARY KEY (scope, period)
);
