import { randomInt } from "node:crypto";
import type { SqlClient } from "../store/index.ts";
import type {
  BudgetAlert,
  BudgetCounter,
  BudgetLedger,
  BudgetRefusal,
  ModelCallRecord,
  ReserveOutcome,
} from "./budget-ledger.ts";
import {
  holdOnShards,
  type Settlement,
  type SettlementOutcome,
  type ShardHold,
  settleOnShards,
} from "./budget-ledger-batches.ts";
import { createStatementBatcher } from "./statement-batcher.ts";

const NANO = 1_000_000_000;
const UNIQUE_VIOLATION = "23505";
const DEADLOCK_DETECTED = "40P01";
const DEFAULT_TTL_MS = 10 * 60_000;
const MAX_REMEMBERED_ALERTS = 10_000;
/** Rows a daily counter is spread over; a run's own counter sees one call at a time and keeps one row. */
export const DAY_COUNTER_SHARDS = 16;

type CounterRow = { spent: number; reserved: number; spent_tokens: number; reserved_tokens: number };
type StoredCounter = {
  scope: string;
  period: string;
  /** The shard row this reservation holds on (0 for reservations made before counters had shards). */
  shard: number;
  limitNano?: number;
  limitTokens?: number;
  alertAt: number[];
};

/** A reservation on one counter on its way to the fast path. */
type PendingHold = {
  reservationId: string;
  counters: StoredCounter[];
  nano: number;
  tokens: number;
  ttlMs: number;
};

/** Thrown inside a reservation's transaction to roll it back; never escapes the ledger. */
class Refused {
  readonly refusal: BudgetRefusal;
  constructor(refusal: BudgetRefusal) {
    this.refusal = refusal;
  }
}

/**
 * Thrown inside a reservation's transaction when a shard has no room, to roll it back (with any lock the failed
 * UPDATE kept on the shard) and start again on the locked path; never escapes the ledger.
 */
class ShardFull {}

/**
 * The budget ledger on Keel's database (PGlite or PostgreSQL, same SQL). Each counter is spread over shard rows
 * (16 for a day, 1 for a run) that each hold a slice of the cap, its allowance. A reservation picks a shard at
 * random and raises it with one conditional UPDATE — `WHERE spent + reserved + amount <= allowance` — so calls
 * on one hot counter mostly lock different rows. A shard without room takes the locked path: under the
 * counter's lock row it is granted a new slice from what no shard holds, or, when too little is left, every
 * shard's unused slice is reclaimed and the whole counter decides, exactly as one row would. Slices change only
 * under that lock and never add up to more than the cap, so concurrent callers in any number of processes can
 * never jointly pass it (docs/models.md, "Budgets"). Rows are locked in a fixed order — counter, then its lock
 * row, then shards by number — so callers never deadlock: a fast-path UPDATE that finds no room may still keep
 * its shard locked, so the reservation rolls back and starts again on the locked path rather than reach for the
 * lock row while holding a shard. Settling swaps the hold for the real cost.
 */
export function createSqlBudgetLedger(sql: SqlClient, options: { now?: () => Date } = {}): BudgetLedger {
  const now = options.now ?? (() => new Date());
  /**
   * Alerts this process knows are recorded (`scope, period, threshold`), so a counter past a threshold does not
   * try to insert the same alert on every settle. Only a cache: `keel_budget_alerts` decides what fired.
   */
  const firedAlerts = new Set<string>();
  const rememberFired = (key: string) => {
    if (firedAlerts.size >= MAX_REMEMBERED_ALERTS) firedAlerts.clear();
    firedAlerts.add(key);
  };

  async function tryReserve(reservation: {
    reservationId: string;
    counters: StoredCounter[];
    nano: number;
    tokens: number;
    ttlMs: number;
    locked: boolean;
  }): Promise<ReserveOutcome> {
    return await sql.transaction(async (tx) => {
      const inserted = await tx.query(
        `INSERT INTO keel_budget_reservations (reservation_id, counters, nano_usd, tokens, status, expires_at)
         VALUES ($1, $2::jsonb, $3, $4, 'open', $5)
         ON CONFLICT (reservation_id) DO NOTHING RETURNING reservation_id`,
        [
          reservation.reservationId,
          JSON.stringify(reservation.counters),
          reservation.nano,
          reservation.tokens,
          new Date(now().getTime() + reservation.ttlMs).toISOString(),
        ],
      );
      if (inserted.rows.length === 0) return { ok: true, reservationId: reservation.reservationId };
      for (const counter of reservation.counters) {
        if (reservation.locked) {
          await reserveLocked(tx, counter, reservation.nano, reservation.tokens);
          continue;
        }
        const raised = await tx.query(
          `UPDATE keel_budget_counters
              SET reserved_nano_usd = reserved_nano_usd + $4, reserved_tokens = reserved_tokens + $5,
                  updated_at = clock_timestamp()
            WHERE scope = $1 AND period = $2 AND shard = $3
              AND cap_nano_usd IS NOT DISTINCT FROM $6::bigint AND cap_tokens IS NOT DISTINCT FROM $7::bigint
              AND ($6::bigint IS NULL OR spent_nano_usd + reserved_nano_usd + $4 <= allowance_nano_usd)
              AND ($7::bigint IS NULL OR spent_tokens + reserved_tokens + $5 <= allowance_tokens)
           RETURNING scope`,
          [
            counter.scope,
            counter.period,
            counter.shard,
            reservation.nano,
            reservation.tokens,
            counter.limitNano ?? null,
            counter.limitTokens ?? null,
          ],
        );
        if (raised.rows.length === 0) throw new ShardFull();
      }
      return { ok: true, reservationId: reservation.reservationId };
    });
  }

  /**
   * The locked path of a reservation whose shard has no room: under the counter's lock row, grant the shard a
   * slice of what no shard holds; if that is too little (or the caps changed), lock every shard, take back their
   * unused slices and decide on the counter's true total. Throws `Refused` when the call does not fit.
   */
  async function reserveLocked(tx: SqlClient, counter: StoredCounter, nano: number, tokens: number) {
    const caps = [counter.limitNano ?? null, counter.limitTokens ?? null];
    await tx.query(
      "INSERT INTO keel_budget_counter_locks (scope, period) VALUES ($1, $2) ON CONFLICT (scope, period) DO NOTHING",
      [counter.scope, counter.period],
    );
    await tx.query(
      "SELECT scope FROM keel_budget_counter_locks WHERE scope = $1 AND period = $2 FOR UPDATE",
      [counter.scope, counter.period],
    );
    await tx.query(
      `INSERT INTO keel_budget_counters (scope, period, shard, cap_nano_usd, cap_tokens)
       SELECT $1, $2, shard, $4::bigint, $5::bigint FROM generate_series(0, $3::integer - 1) AS shard
       ON CONFLICT (scope, period, shard) DO NOTHING`,
      [counter.scope, counter.period, shardsOf(counter), ...caps],
    );
    // Allowances change only under the lock row held now; a fast-path reservation keeps its shard within its
    // allowance, so `committed` read here can only shrink (by settling) until this transaction ends.
    const { rows } = await tx.query<Totals & { same_caps: boolean }>(
      `SELECT ${TOTALS},
              sum(GREATEST(allowance_nano_usd, spent_nano_usd + reserved_nano_usd))::float8 AS committed_nano,
              sum(GREATEST(allowance_tokens, spent_tokens + reserved_tokens))::float8 AS committed_tokens,
              bool_and(cap_nano_usd IS NOT DISTINCT FROM $3::bigint AND cap_tokens IS NOT DISTINCT FROM $4::bigint)
                AS same_caps
         FROM keel_budget_counters WHERE scope = $1 AND period = $2`,
      [counter.scope, counter.period, ...caps],
    );
    const committed = rows[0]!;
    let base = { nano: committed.committed_nano ?? 0, tokens: committed.committed_tokens ?? 0 };
    if (!committed.same_caps || !fits(counter, base, nano, tokens)) {
      // Too little left outside the slices: take every unused slice back and decide on what is really held.
      await tx.query(
        "SELECT shard FROM keel_budget_counters WHERE scope = $1 AND period = $2 ORDER BY shard FOR UPDATE",
        [counter.scope, counter.period],
      );
      const reclaimed = await tx.query<CounterRow>(
        `WITH reclaimed AS (
           UPDATE keel_budget_counters
              SET allowance_nano_usd = spent_nano_usd + reserved_nano_usd,
                  allowance_tokens = spent_tokens + reserved_tokens,
                  cap_nano_usd = $3::bigint, cap_tokens = $4::bigint
            WHERE scope = $1 AND period = $2
           RETURNING spent_nano_usd, reserved_nano_usd, spent_tokens, reserved_tokens)
         SELECT ${TOTALS} FROM reclaimed`,
        [counter.scope, counter.period, ...caps],
      );
      const totals = reclaimed.rows[0]!;
      base = { nano: totals.spent + totals.reserved, tokens: totals.spent_tokens + totals.reserved_tokens };
      if (!fits(counter, base, nano, tokens)) {
        throw new Refused({
          scope: counter.scope,
          period: counter.period,
          ...(counter.limitNano === undefined ? {} : { limitUsd: counter.limitNano / NANO }),
          ...(counter.limitTokens === undefined ? {} : { limitTokens: counter.limitTokens }),
          spentUsd: totals.spent / NANO,
          spentTokens: totals.spent_tokens,
          reservedUsd: totals.reserved / NANO,
          reservedTokens: totals.reserved_tokens,
          requestedUsd: nano / NANO,
          requestedTokens: tokens,
        });
      }
    }
    // A slice of what is left (at least this call), so the next calls on this shard take the fast path.
    const slice = (limit: number | undefined, held: number, amount: number) =>
      limit === undefined ? 0 : Math.max(amount, Math.floor((limit - held) / shardsOf(counter)));
    await tx.query(
      `UPDATE keel_budget_counters
          SET allowance_nano_usd = GREATEST(allowance_nano_usd, spent_nano_usd + reserved_nano_usd) + $4,
              allowance_tokens = GREATEST(allowance_tokens, spent_tokens + reserved_tokens) + $5,
              reserved_nano_usd = reserved_nano_usd + $6, reserved_tokens = reserved_tokens + $7,
              cap_nano_usd = $8::bigint, cap_tokens = $9::bigint, updated_at = clock_timestamp()
        WHERE scope = $1 AND period = $2 AND shard = $3`,
      [
        counter.scope,
        counter.period,
        counter.shard,
        slice(counter.limitNano, base.nano, nano),
        slice(counter.limitTokens, base.tokens, tokens),
        nano,
        tokens,
        ...caps,
      ],
    );
  }

  /**
   * A reservation on one counter in one statement, outside any transaction: the shard's conditional UPDATE and
   * the reservation row commit together or not at all. `null` when the shard has no room (nothing is written).
   * A repeated reservation id fails the insert on its primary key, which undoes the raise too.
   */
  async function reserveOnShard(reservation: {
    reservationId: string;
    counters: StoredCounter[];
    nano: number;
    tokens: number;
    ttlMs: number;
  }): Promise<ReserveOutcome | null> {
    const [counter] = reservation.counters;
    try {
      const { rows } = await sql.query(
        `WITH raised AS (
           UPDATE keel_budget_counters
              SET reserved_nano_usd = reserved_nano_usd + $4, reserved_tokens = reserved_tokens + $5,
                  updated_at = clock_timestamp()
            WHERE scope = $1 AND period = $2 AND shard = $3
              AND cap_nano_usd IS NOT DISTINCT FROM $6::bigint AND cap_tokens IS NOT DISTINCT FROM $7::bigint
              AND ($6::bigint IS NULL OR spent_nano_usd + reserved_nano_usd + $4 <= allowance_nano_usd)
              AND ($7::bigint IS NULL OR spent_tokens + reserved_tokens + $5 <= allowance_tokens)
           RETURNING scope)
         INSERT INTO keel_budget_reservations (reservation_id, counters, nano_usd, tokens, status, expires_at)
         SELECT $8, $9::jsonb, $4, $5, 'open', $10 FROM raised
         RETURNING reservation_id`,
        [
          counter!.scope,
          counter!.period,
          counter!.shard,
          reservation.nano,
          reservation.tokens,
          counter!.limitNano ?? null,
          counter!.limitTokens ?? null,
          reservation.reservationId,
          JSON.stringify(reservation.counters),
          new Date(now().getTime() + reservation.ttlMs).toISOString(),
        ],
      );
      return rows.length === 0 ? null : { ok: true, reservationId: reservation.reservationId };
    } catch (error) {
      if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
      return { ok: true, reservationId: reservation.reservationId };
    }
  }

  async function releaseExpired(): Promise<number> {
    return await sql.transaction(async (tx) => {
      const expired = await tx.query<{
        reservation_id: string;
        counters: StoredCounter[];
        nano: number;
        tokens: number;
      }>(
        `UPDATE keel_budget_reservations SET status = 'released'
          WHERE status = 'open' AND expires_at < $1
         RETURNING reservation_id, counters, nano_usd::float8 AS nano, tokens::float8 AS tokens`,
        [now().toISOString()],
      );
      const holds = new Map<string, { counter: StoredCounter; nano: number; tokens: number }>();
      for (const row of expired.rows) {
        for (const counter of parseCounters(row.counters)) {
          const key = `${counter.scope}\u0000${counter.period}\u0000${counter.shard}`;
          const hold = holds.get(key) ?? { counter, nano: 0, tokens: 0 };
          hold.nano += row.nano;
          hold.tokens += row.tokens;
          holds.set(key, hold);
        }
      }
      for (const { counter, nano, tokens } of [...holds.values()].sort((a, b) =>
        compareCounters(a.counter, b.counter),
      )) {
        await tx.query(
          `UPDATE keel_budget_counters
              SET reserved_nano_usd = GREATEST(0, reserved_nano_usd - $3), reserved_tokens = GREATEST(0, reserved_tokens - $4)
            WHERE scope = $1 AND period = $2 AND shard = $5`,
          [counter.scope, counter.period, nano, tokens, counter.shard],
        );
      }
      return expired.rows.length;
    });
  }

  async function fireAlerts(
    client: SqlClient,
    counters: readonly StoredCounter[],
    only?: { scope: string; period: string; threshold: number },
  ): Promise<BudgetAlert[]> {
    const alerts: BudgetAlert[] = [];
    for (const counter of counters) {
      if (only && (counter.scope !== only.scope || counter.period !== only.period)) continue;
      alerts.push(
        ...(await alertsFor(client, counter, await readRow(client, counter.scope, counter.period), only)),
      );
    }
    return alerts;
  }

  /** Fire the thresholds `row` (a counter's totals) has reached, each once per period. */
  async function alertsFor(
    client: SqlClient,
    counter: StoredCounter,
    row: CounterRow,
    only?: { threshold: number },
  ): Promise<BudgetAlert[]> {
    const alerts: BudgetAlert[] = [];
    const usedUsd = counter.limitNano ? row.spent / counter.limitNano : 0;
    const usedTokens = counter.limitTokens ? row.spent_tokens / counter.limitTokens : 0;
    const used = Math.max(usedUsd, usedTokens);
    for (const threshold of counter.alertAt) {
      if (only ? threshold !== only.threshold : used + 1e-12 < threshold) continue;
      const key = `${counter.scope}\u0000${counter.period}\u0000${threshold}`;
      if (firedAlerts.has(key)) continue;
      const fired = await client.query(
        `INSERT INTO keel_budget_alerts (scope, period, threshold, spent_nano_usd, spent_tokens)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, period, threshold) DO NOTHING RETURNING scope`,
        [counter.scope, counter.period, threshold, row.spent, row.spent_tokens],
      );
      // Outside a transaction the row is committed (by this call or an earlier one): skip the insert next time.
      if (client === sql) rememberFired(key);
      if (fired.rows.length === 0) continue;
      alerts.push({
        scope: counter.scope,
        period: counter.period,
        threshold,
        spentUsd: row.spent / NANO,
        spentTokens: row.spent_tokens,
        ...(counter.limitNano === undefined ? {} : { limitUsd: counter.limitNano / NANO }),
        ...(counter.limitTokens === undefined ? {} : { limitTokens: counter.limitTokens }),
      });
    }
    return alerts;
  }

  /** One settlement alone, in the one statement a reservation on one counter needs (see `settle`). */
  async function settleOne(settlement: Settlement): Promise<SettlementOutcome> {
    const { rows } = await sql.query<{
      settled: boolean;
      counters: StoredCounter[];
      spent: number;
      spent_tokens: number;
    }>(
      `WITH found AS (
         SELECT status, counters, nano_usd, tokens FROM keel_budget_reservations
          WHERE reservation_id = $1 FOR UPDATE),
       target AS (
         SELECT held.scope, held.period, COALESCE(held.shard, 0) AS shard, found.status, found.nano_usd, found.tokens
           FROM found, jsonb_to_recordset(found.counters) AS held(scope text, period text, shard integer)
          WHERE found.status <> 'settled' AND jsonb_array_length(found.counters) = 1),
       marked AS (
         UPDATE keel_budget_reservations SET status = 'settled', settled_nano_usd = $2, settled_tokens = $3
          WHERE reservation_id = $1 AND EXISTS (SELECT 1 FROM target)
         RETURNING reservation_id),
       moved AS (
         UPDATE keel_budget_counters AS counter
            SET reserved_nano_usd = GREATEST(0, counter.reserved_nano_usd - CASE WHEN target.status = 'open' THEN target.nano_usd ELSE 0 END),
                reserved_tokens = GREATEST(0, counter.reserved_tokens - CASE WHEN target.status = 'open' THEN target.tokens ELSE 0 END),
                spent_nano_usd = counter.spent_nano_usd + $2, spent_tokens = counter.spent_tokens + $3,
                updated_at = clock_timestamp()
           FROM target
          WHERE counter.scope = target.scope AND counter.period = target.period AND counter.shard = target.shard
            AND EXISTS (SELECT 1 FROM marked)
         RETURNING counter.scope)
       SELECT (SELECT count(*) FROM marked) > 0 AS settled, found.counters,
              COALESCE((SELECT sum(spent_nano_usd) FROM keel_budget_counters, target
                         WHERE keel_budget_counters.scope = target.scope
                           AND keel_budget_counters.period = target.period), 0)::float8 + $2 AS spent,
              COALESCE((SELECT sum(spent_tokens) FROM keel_budget_counters, target
                         WHERE keel_budget_counters.scope = target.scope
                           AND keel_budget_counters.period = target.period), 0)::float8 + $3 AS spent_tokens
         FROM found`,
      [settlement.reservationId, settlement.nano, settlement.tokens],
    );
    const row = rows[0];
    if (!row) return { settled: false, counters: [], spent: 0, spentTokens: 0 };
    return { settled: row.settled, counters: row.counters, spent: row.spent, spentTokens: row.spent_tokens };
  }

  /**
   * Reservations on one counter made at the same moment share one statement (`holdOnShards`); one alone keeps its
   * own. Answers each one's outcome, or null where its shard had no room (it then takes the locked path). A
   * reservation id twice in one group, or holds on one shard priced against different caps, are held one by one.
   */
  const holds = createStatementBatcher<PendingHold, ReserveOutcome | null>(async (pending) => {
    if (pending.length === 1) return [await reserveOnShard(pending[0]!)];
    const ids = new Set<string>();
    const caps = new Map<string, string>();
    const grouped: { index: number; hold: ShardHold }[] = [];
    const alone: number[] = [];
    pending.forEach((reservation, index) => {
      const counter = reservation.counters[0]!;
      const shard = `${counter.scope}\u0000${counter.period}\u0000${counter.shard}`;
      const priced = `${counter.limitNano ?? ""}/${counter.limitTokens ?? ""}`;
      if (ids.has(reservation.reservationId) || (caps.get(shard) ?? priced) !== priced) {
        alone.push(index);
        return;
      }
      ids.add(reservation.reservationId);
      caps.set(shard, priced);
      grouped.push({ index, hold: toShardHold(reservation, counter) });
    });
    const outcomes: (ReserveOutcome | null)[] = pending.map(() => null);
    let held: Awaited<ReturnType<typeof holdOnShards>> | null;
    try {
      held = await holdOnShards(
        sql,
        grouped.map(({ hold }) => hold),
      );
    } catch (error) {
      // Another statement inserted one of these ids, or locked rows in an order no caller of the ledger uses (a
      // deadlock PostgreSQL broke by failing this statement): nothing was held, so hold each one alone.
      const code = (error as { code?: unknown }).code;
      if (code !== UNIQUE_VIOLATION && code !== DEADLOCK_DETECTED) throw error;
      held = null;
      alone.push(...grouped.map(({ index }) => index));
    }
    if (held) {
      grouped.forEach(({ index, hold }, position) => {
        outcomes[index] = held[position] === "full" ? null : { ok: true, reservationId: hold.reservationId };
      });
    }
    for (const index of alone.sort((a, b) => a - b)) outcomes[index] = await reserveOnShard(pending[index]!);
    return outcomes;
  });

  /**
   * Settlements made at the same moment share one statement (`settleOnShards`); one alone keeps its own. Each
   * answer's `spent` is its counter's total including every settlement of the group on that counter.
   */
  const settlements = createStatementBatcher<Settlement, SettlementOutcome>(async (pending) => {
    if (pending.length === 1) return [await settleOne(pending[0]!)];
    const ids = new Set<string>();
    const grouped: { index: number; settlement: Settlement }[] = [];
    const alone: number[] = [];
    pending.forEach((settlement, index) => {
      if (ids.has(settlement.reservationId)) alone.push(index);
      else grouped.push({ index, settlement });
      ids.add(settlement.reservationId);
    });
    const outcomes: SettlementOutcome[] = [];
    let answers: SettlementOutcome[];
    try {
      answers = await settleOnShards(
        sql,
        grouped.map(({ settlement }) => settlement),
      );
    } catch (error) {
      if ((error as { code?: unknown }).code !== DEADLOCK_DETECTED) throw error;
      answers = [];
      alone.push(...grouped.map(({ index }) => index));
    }
    // The statement read each counter's totals as it began: add what the group itself spent on the counter.
    const groupSpend = new Map<string, { nano: number; tokens: number }>();
    answers.forEach((answer, position) => {
      const [counter] = parseCounters(answer.counters);
      if (!answer.settled || !counter) return;
      const key = `${counter.scope}\u0000${counter.period}`;
      const spend = groupSpend.get(key) ?? { nano: 0, tokens: 0 };
      spend.nano += grouped[position]!.settlement.nano;
      spend.tokens += grouped[position]!.settlement.tokens;
      groupSpend.set(key, spend);
    });
    answers.forEach((answer, position) => {
      const [counter] = parseCounters(answer.counters);
      const spend = counter ? groupSpend.get(`${counter.scope}\u0000${counter.period}`) : undefined;
      outcomes[grouped[position]!.index] = spend
        ? { ...answer, spent: answer.spent + spend.nano, spentTokens: answer.spentTokens + spend.tokens }
        : answer;
    });
    for (const index of alone.sort((a, b) => a - b)) outcomes[index] = await settleOne(pending[index]!);
    return outcomes;
  });

  function toShardHold(reservation: PendingHold, counter: StoredCounter): ShardHold {
    return {
      reservationId: reservation.reservationId,
      scope: counter.scope,
      period: counter.period,
      shard: counter.shard,
      capNano: counter.limitNano ?? null,
      capTokens: counter.limitTokens ?? null,
      nano: reservation.nano,
      tokens: reservation.tokens,
      counters: JSON.stringify(reservation.counters),
      expiresAt: new Date(now().getTime() + reservation.ttlMs).toISOString(),
    };
  }

  return {
    async reserve(options) {
      const counters = options.counters.map(storedCounter).sort(compareCounters);
      const reservation = {
        reservationId: options.reservationId,
        counters,
        nano: toNano(options.usd),
        tokens: Math.ceil(options.tokens),
        ttlMs: options.ttlMs ?? DEFAULT_TTL_MS,
        locked: false,
      };
      if (counters.length === 1) {
        const reserved = await holds.run(reservation);
        if (reserved) return reserved;
        reservation.locked = true;
      }
      for (let tries = 0; ; tries += 1) {
        try {
          return await tryReserve(reservation);
        } catch (error) {
          if (error instanceof ShardFull) {
            reservation.locked = true;
            tries -= 1;
            continue;
          }
          if (!(error instanceof Refused)) throw error;
          // Holds left by callers that died may be what fills the cap: release them once and try again.
          if (tries === 0 && (await releaseExpired()) > 0) continue;
          // A refusal means the cap is reached for this period: the 100% alert (if configured) fires once.
          const alerts = await fireAlerts(sql, counters, {
            scope: error.refusal.scope,
            period: error.refusal.period,
            threshold: 1,
          });
          return { ok: false, refusal: error.refusal, alerts };
        }
      }
    },

    async settle({ reservationId, usd, tokens }) {
      // A reservation on one counter settles in one statement, shared with the settlements made at the same
      // moment (group commit); its counter's totals come back for the alerts.
      const single = await settlements.run({ reservationId, nano: toNano(usd), tokens: Math.ceil(tokens) });
      const [counter, ...more] = parseCounters(single.counters);
      if (single.settled && counter && more.length === 0) {
        const totals = {
          spent: single.spent,
          spent_tokens: single.spentTokens,
          reserved: 0,
          reserved_tokens: 0,
        };
        return { alerts: await alertsFor(sql, counter, totals) };
      }
      if (more.length === 0) return { alerts: [] };
      return await sql.transaction(async (tx) => {
        const found = await tx.query<{
          status: string;
          counters: StoredCounter[];
          nano: number;
          tokens: number;
        }>(
          `SELECT status, counters, nano_usd::float8 AS nano, tokens::float8 AS tokens
             FROM keel_budget_reservations WHERE reservation_id = $1 FOR UPDATE`,
          [reservationId],
        );
        const reservation = found.rows[0];
        if (!reservation || reservation.status === "settled") return { alerts: [] };
        const wasOpen = reservation.status === "open";
        const spentNano = toNano(usd);
        const spentTokens = Math.ceil(tokens);
        await tx.query(
          `UPDATE keel_budget_reservations SET status = 'settled', settled_nano_usd = $2, settled_tokens = $3
            WHERE reservation_id = $1`,
          [reservationId, spentNano, spentTokens],
        );
        const counters = parseCounters(reservation.counters);
        for (const counter of counters) {
          await tx.query(
            `UPDATE keel_budget_counters
                SET reserved_nano_usd = GREATEST(0, reserved_nano_usd - $3), reserved_tokens = GREATEST(0, reserved_tokens - $4),
                    spent_nano_usd = spent_nano_usd + $5, spent_tokens = spent_tokens + $6, updated_at = clock_timestamp()
              WHERE scope = $1 AND period = $2 AND shard = $7`,
            [
              counter.scope,
              counter.period,
              wasOpen ? reservation.nano : 0,
              wasOpen ? reservation.tokens : 0,
              spentNano,
              spentTokens,
              counter.shard,
            ],
          );
        }
        return { alerts: await fireAlerts(tx, counters) };
      });
    },

    async release(reservationId) {
      await sql.transaction(async (tx) => {
        const released = await tx.query<{ counters: StoredCounter[]; nano: number; tokens: number }>(
          `UPDATE keel_budget_reservations SET status = 'released'
            WHERE reservation_id = $1 AND status = 'open'
           RETURNING counters, nano_usd::float8 AS nano, tokens::float8 AS tokens`,
          [reservationId],
        );
        const row = released.rows[0];
        if (!row) return;
        for (const counter of parseCounters(row.counters)) {
          await tx.query(
            `UPDATE keel_budget_counters
                SET reserved_nano_usd = GREATEST(0, reserved_nano_usd - $3), reserved_tokens = GREATEST(0, reserved_tokens - $4)
              WHERE scope = $1 AND period = $2 AND shard = $5`,
            [counter.scope, counter.period, row.nano, row.tokens, counter.shard],
          );
        }
      });
    },

    async read({ scope, period }) {
      const row = await readRow(sql, scope, period);
      return {
        spentUsd: row.spent / NANO,
        spentTokens: row.spent_tokens,
        reservedUsd: row.reserved / NANO,
        reservedTokens: row.reserved_tokens,
      };
    },

    async recordCalls(records: readonly ModelCallRecord[]) {
      if (records.length === 0) return;
      const columns = 24;
      const values: unknown[] = [];
      const rows = records.map((record, index) => {
        values.push(
          record.callId,
          record.origin,
          record.tenant,
          record.agent,
          record.agentVersion,
          record.runId ?? null,
          record.apiKey ?? null,
          record.phase,
          record.provider,
          record.model,
          record.outcome,
          record.errorClass ?? null,
          record.inputTokens,
          record.outputTokens,
          record.cacheReadTokens,
          record.cacheWriteTokens,
          record.reasoningTokens,
          toNano(record.costUsd),
          record.priceTableVersion,
          record.routingReason,
          record.responseCache,
          JSON.stringify(record.attempts),
          record.durationMs,
          now().toISOString(),
        );
        const base = index * columns;
        return `(${Array.from({ length: columns }, (_, column) => `$${base + column + 1}`).join(", ")})`;
      });
      await sql.query(
        `INSERT INTO keel_model_calls (call_id, origin, tenant, agent, agent_version, run_id, api_key, phase, provider,
           model, outcome, error_class, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
           reasoning_tokens, cost_nano_usd, price_table_version, routing_reason, response_cache, attempts, duration_ms, at)
         VALUES ${rows.join(", ")} ON CONFLICT (call_id) DO NOTHING`,
        values,
      );
    },
  };
}

/** A counter's totals over its shards, as selected by `TOTALS` (zero for a counter with no rows yet). */
type Totals = CounterRow & { committed_nano: number; committed_tokens: number };
const TOTALS = `COALESCE(sum(spent_nano_usd), 0)::float8 AS spent, COALESCE(sum(reserved_nano_usd), 0)::float8 AS reserved,
       COALESCE(sum(spent_tokens), 0)::float8 AS spent_tokens, COALESCE(sum(reserved_tokens), 0)::float8 AS reserved_tokens`;

async function readRow(client: SqlClient, scope: string, period: string): Promise<CounterRow> {
  const { rows } = await client.query<CounterRow>(
    `SELECT ${TOTALS} FROM keel_budget_counters WHERE scope = $1 AND period = $2`,
    [scope, period],
  );
  return rows[0] ?? { spent: 0, reserved: 0, spent_tokens: 0, reserved_tokens: 0 };
}

/** Whether `nano` and `tokens` more fit under the counter's caps on top of `held`. */
function fits(counter: StoredCounter, held: { nano: number; tokens: number }, nano: number, tokens: number) {
  return (
    (counter.limitNano === undefined || held.nano + nano <= counter.limitNano) &&
    (counter.limitTokens === undefined || held.tokens + tokens <= counter.limitTokens)
  );
}

function shardsOf(counter: { period: string }): number {
  return counter.period === "run" ? 1 : DAY_COUNTER_SHARDS;
}

function storedCounter(counter: BudgetCounter): StoredCounter {
  return {
    scope: counter.scope,
    period: counter.period,
    shard: randomInt(shardsOf(counter)),
    ...(counter.limitUsd === undefined ? {} : { limitNano: toNano(counter.limitUsd) }),
    ...(counter.limitTokens === undefined ? {} : { limitTokens: Math.floor(counter.limitTokens) }),
    alertAt: [...counter.alertAt],
  };
}

function parseCounters(value: unknown): StoredCounter[] {
  const counters = (typeof value === "string" ? JSON.parse(value) : value) as StoredCounter[];
  return counters.map((counter) => ({ ...counter, shard: counter.shard ?? 0 })).sort(compareCounters);
}

function compareCounters(a: { scope: string; period: string }, b: { scope: string; period: string }): number {
  const left = `${a.scope}\u0000${a.period}`;
  const right = `${b.scope}\u0000${b.period}`;
  return left < right ? -1 : left > right ? 1 : 0;
}

function toNano(usd: number): number {
  return Math.round(usd * NANO);
}
