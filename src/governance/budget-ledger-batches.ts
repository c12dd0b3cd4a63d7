import type { SqlClient } from "../store/index.ts";

/** One reservation on one shard of one counter, as the batched fast path takes it. */
export type ShardHold = {
  reservationId: string;
  scope: string;
  period: string;
  shard: number;
  capNano: number | null;
  capTokens: number | null;
  nano: number;
  tokens: number;
  /** The reservation's `counters` column as stored (JSON text). */
  counters: string;
  expiresAt: string;
};

/** `held`: admitted now; `repeat`: the id was reserved before (nothing new held); `full`: the shard had no room. */
export type ShardHoldOutcome = "held" | "repeat" | "full";

/**
 * Hold many reservations, each on one shard, in one statement (one commit). Holds on the same shard are summed and
 * admitted together, all or none, only when `spent + reserved + their sum <= allowance` — the same test one hold
 * makes, so the shard invariant of docs/models.md ("Budgets") holds as it does call by call — and only when the
 * shard still carries the caps the holds were priced against. A shard without room (or without a row yet) answers
 * `full` for each of its holds, which then take the locked path one by one. The shards are locked in one fixed
 * order (scope, period, shard, byte order, as the ledger locks counters) before any is raised, so two batches, or a
 * batch and a locked path, never deadlock. Callers pass distinct reservation ids, and the holds on one shard with
 * the same caps; a reservation id another statement inserts at the same moment fails the whole statement
 * (unique violation), which the caller answers by holding one by one.
 */
export async function holdOnShards(sql: SqlClient, holds: readonly ShardHold[]): Promise<ShardHoldOutcome[]> {
  const { rows } = await sql.query<{ id: string; outcome: ShardHoldOutcome }>(
    `WITH input AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS item(
         id text, scope text, period text, shard integer, cap_nano bigint, cap_tokens bigint, nano bigint,
         tokens bigint, counters text, expires_at timestamptz)),
     fresh AS MATERIALIZED (
       SELECT input.* FROM input
        WHERE input.id NOT IN (
          SELECT held.reservation_id FROM keel_budget_reservations AS held WHERE held.reservation_id = ANY($2::text[]))),
     wanted AS MATERIALIZED (
       SELECT scope, period, shard, min(cap_nano) AS cap_nano, min(cap_tokens) AS cap_tokens,
              sum(nano)::bigint AS nano, sum(tokens)::bigint AS tokens
         FROM fresh GROUP BY scope, period, shard),
     locked AS MATERIALIZED (
       SELECT counter.scope, counter.period, counter.shard
         FROM keel_budget_counters AS counter
         JOIN wanted ON counter.scope = wanted.scope AND counter.period = wanted.period AND counter.shard = wanted.shard
        WHERE counter.scope = ANY($3::text[])
        ORDER BY counter.scope COLLATE "C", counter.period COLLATE "C", counter.shard
          FOR UPDATE OF counter),
     raised AS (
       UPDATE keel_budget_counters AS counter
          SET reserved_nano_usd = counter.reserved_nano_usd + wanted.nano,
              reserved_tokens = counter.reserved_tokens + wanted.tokens,
              updated_at = clock_timestamp()
         FROM wanted, locked
        WHERE counter.scope = ANY($3::text[])
          AND counter.scope = wanted.scope AND counter.period = wanted.period AND counter.shard = wanted.shard
          AND locked.scope = wanted.scope AND locked.period = wanted.period AND locked.shard = wanted.shard
          AND counter.cap_nano_usd IS NOT DISTINCT FROM wanted.cap_nano
          AND counter.cap_tokens IS NOT DISTINCT FROM wanted.cap_tokens
          AND (wanted.cap_nano IS NULL OR counter.spent_nano_usd + counter.reserved_nano_usd + wanted.nano <= counter.allowance_nano_usd)
          AND (wanted.cap_tokens IS NULL OR counter.spent_tokens + counter.reserved_tokens + wanted.tokens <= counter.allowance_tokens)
       RETURNING counter.scope, counter.period, counter.shard),
     inserted AS (
       INSERT INTO keel_budget_reservations (reservation_id, counters, nano_usd, tokens, status, expires_at)
       SELECT fresh.id, fresh.counters::jsonb, fresh.nano, fresh.tokens, 'open', fresh.expires_at
         FROM fresh JOIN raised
           ON raised.scope = fresh.scope AND raised.period = fresh.period AND raised.shard = fresh.shard
       RETURNING reservation_id)
     SELECT input.id,
            CASE WHEN input.id IN (SELECT reservation_id FROM inserted) THEN 'held'
                 WHEN input.id IN (SELECT id FROM fresh) THEN 'full'
                 ELSE 'repeat' END AS outcome
       FROM input`,
    [
      JSON.stringify(
        holds.map((hold) => ({
          id: hold.reservationId,
          scope: hold.scope,
          period: hold.period,
          shard: hold.shard,
          cap_nano: hold.capNano,
          cap_tokens: hold.capTokens,
          nano: hold.nano,
          tokens: hold.tokens,
          counters: hold.counters,
          expires_at: hold.expiresAt,
        })),
      ),
      holds.map((hold) => hold.reservationId),
      [...new Set(holds.map((hold) => hold.scope))],
    ],
  );
  const outcomes = new Map(rows.map((row) => [row.id, row.outcome]));
  return holds.map((hold) => outcomes.get(hold.reservationId) ?? "full");
}

/** What one reservation is settled at. */
export type Settlement = { reservationId: string; nano: number; tokens: number };

/**
 * The answer for one settlement of a batch. `settled`: this statement settled it (a reservation on one counter).
 * Otherwise it was settled before, is unknown (`counters` empty), or holds on several counters and is settled by
 * the caller's own transaction. `spent` and `spentTokens` are the counter's totals over its shards as the statement
 * began, without this batch's spend (the caller adds it, for alerts).
 */
export type SettlementOutcome = {
  settled: boolean;
  counters: unknown;
  spent: number;
  spentTokens: number;
};

/**
 * Settle many reservations in one statement (one commit): each reservation on one counter that is not settled yet
 * is marked settled and its shard's hold swapped for the real cost, the moves on one shard summed. Reservation rows
 * are locked first (by id), then shards in the same fixed order as `holdOnShards`, so concurrent batches do not
 * deadlock. Callers pass distinct reservation ids.
 */
export async function settleOnShards(
  sql: SqlClient,
  settlements: readonly Settlement[],
): Promise<SettlementOutcome[]> {
  const { rows } = await sql.query<SettlementOutcome & { id: string }>(
    `WITH input AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS item(id text, nano bigint, tokens bigint)),
     found AS MATERIALIZED (
       SELECT held.reservation_id, held.status, held.counters, held.nano_usd, held.tokens,
              input.nano AS spend_nano, input.tokens AS spend_tokens
         FROM keel_budget_reservations AS held JOIN input ON held.reservation_id = input.id
        WHERE held.reservation_id = ANY($2::text[])
        ORDER BY held.reservation_id COLLATE "C"
          FOR UPDATE OF held),
     target AS MATERIALIZED (
       SELECT found.*, counter.scope, counter.period, COALESCE(counter.shard, 0) AS shard
         FROM found, jsonb_to_recordset(found.counters) AS counter(scope text, period text, shard integer)
        WHERE found.status <> 'settled' AND jsonb_array_length(found.counters) = 1),
     marked AS (
       UPDATE keel_budget_reservations AS held
          SET status = 'settled', settled_nano_usd = target.spend_nano, settled_tokens = target.spend_tokens
         FROM target WHERE held.reservation_id = ANY($2::text[]) AND held.reservation_id = target.reservation_id
       RETURNING held.reservation_id),
     moves AS MATERIALIZED (
       SELECT scope, period, shard,
              sum(CASE WHEN status = 'open' THEN nano_usd ELSE 0 END)::bigint AS free_nano,
              sum(CASE WHEN status = 'open' THEN tokens ELSE 0 END)::bigint AS free_tokens,
              sum(spend_nano)::bigint AS spend_nano, sum(spend_tokens)::bigint AS spend_tokens
         FROM target GROUP BY scope, period, shard),
     locked AS MATERIALIZED (
       SELECT counter.scope, counter.period, counter.shard
         FROM keel_budget_counters AS counter
         JOIN moves ON counter.scope = moves.scope AND counter.period = moves.period AND counter.shard = moves.shard
        WHERE counter.scope IN (SELECT scope FROM moves)
        ORDER BY counter.scope COLLATE "C", counter.period COLLATE "C", counter.shard
          FOR UPDATE OF counter),
     moved AS (
       UPDATE keel_budget_counters AS counter
          SET reserved_nano_usd = GREATEST(0, counter.reserved_nano_usd - moves.free_nano),
              reserved_tokens = GREATEST(0, counter.reserved_tokens - moves.free_tokens),
              spent_nano_usd = counter.spent_nano_usd + moves.spend_nano,
              spent_tokens = counter.spent_tokens + moves.spend_tokens,
              updated_at = clock_timestamp()
         FROM moves, locked
        WHERE counter.scope = moves.scope AND counter.period = moves.period AND counter.shard = moves.shard
          AND locked.scope = moves.scope AND locked.period = moves.period AND locked.shard = moves.shard
          AND EXISTS (SELECT 1 FROM marked)
       RETURNING counter.scope),
     totals AS (
       SELECT counted.scope, counted.period,
              sum(counter.spent_nano_usd)::float8 AS spent, sum(counter.spent_tokens)::float8 AS spent_tokens
         FROM (SELECT DISTINCT scope, period FROM target) AS counted
         JOIN keel_budget_counters AS counter ON counter.scope = counted.scope AND counter.period = counted.period
        GROUP BY counted.scope, counted.period)
     SELECT found.reservation_id AS id, found.counters, target.reservation_id IS NOT NULL AS settled,
            COALESCE(totals.spent, 0) AS spent, COALESCE(totals.spent_tokens, 0) AS "spentTokens"
       FROM found
       LEFT JOIN target ON target.reservation_id = found.reservation_id
       LEFT JOIN totals ON totals.scope = target.scope AND totals.period = target.period`,
    [
      JSON.stringify(
        settlements.map((settlement) => ({
          id: settlement.reservationId,
          nano: settlement.nano,
          tokens: settlement.tokens,
        })),
      ),
      settlements.map((settlement) => settlement.reservationId),
    ],
  );
  const outcomes = new Map(rows.map((row) => [row.id, row]));
  return settlements.map((settlement) => {
    const row = outcomes.get(settlement.reservationId);
    return row
      ? { settled: row.settled, counters: row.counters, spent: row.spent, spentTokens: row.spentTokens }
      : { settled: false, counters: [], spent: 0, spentTokens: 0 };
  });
}
