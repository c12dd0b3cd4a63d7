import type { SqlClient } from "../store/store.ts";
import type {
  BudgetAlert,
  BudgetCounter,
  BudgetLedger,
  BudgetRefusal,
  ModelCallRecord,
  ReserveOutcome,
} from "./budget-ledger.ts";

const NANO = 1_000_000_000;
const DEFAULT_TTL_MS = 10 * 60_000;

type CounterRow = { spent: number; reserved: number; spent_tokens: number; reserved_tokens: number };
type StoredCounter = {
  scope: string;
  period: string;
  limitNano?: number;
  limitTokens?: number;
  alertAt: number[];
};

/** Thrown inside a reservation's transaction to roll it back; never escapes the ledger. */
class Refused {
  readonly refusal: BudgetRefusal;
  constructor(refusal: BudgetRefusal) {
    this.refusal = refusal;
  }
}

/**
 * The budget ledger on Keel's database (PGlite or PostgreSQL, same SQL). A reservation raises every counter
 * with one conditional UPDATE each — `WHERE spent + reserved + amount <= cap` — in one transaction, counters
 * locked in a fixed order, so concurrent callers in any number of processes can never jointly pass a cap and
 * never deadlock. Settling swaps the hold for the real cost.
 */
export function createSqlBudgetLedger(sql: SqlClient, options: { now?: () => Date } = {}): BudgetLedger {
  const now = options.now ?? (() => new Date());

  async function tryReserve(reservation: {
    reservationId: string;
    counters: StoredCounter[];
    nano: number;
    tokens: number;
    ttlMs: number;
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
        await tx.query(
          "INSERT INTO keel_budget_counters (scope, period) VALUES ($1, $2) ON CONFLICT (scope, period) DO NOTHING",
          [counter.scope, counter.period],
        );
        const raised = await tx.query(
          `UPDATE keel_budget_counters
              SET reserved_nano_usd = reserved_nano_usd + $3, reserved_tokens = reserved_tokens + $4,
                  updated_at = clock_timestamp()
            WHERE scope = $1 AND period = $2
              AND ($5::bigint IS NULL OR spent_nano_usd + reserved_nano_usd + $3 <= $5::bigint)
              AND ($6::bigint IS NULL OR spent_tokens + reserved_tokens + $4 <= $6::bigint)
           RETURNING scope`,
          [
            counter.scope,
            counter.period,
            reservation.nano,
            reservation.tokens,
            counter.limitNano ?? null,
            counter.limitTokens ?? null,
          ],
        );
        if (raised.rows.length === 0) {
          const row = await readRow(tx, counter.scope, counter.period);
          throw new Refused({
            scope: counter.scope,
            period: counter.period,
            ...(counter.limitNano === undefined ? {} : { limitUsd: counter.limitNano / NANO }),
            ...(counter.limitTokens === undefined ? {} : { limitTokens: counter.limitTokens }),
            spentUsd: row.spent / NANO,
            spentTokens: row.spent_tokens,
            reservedUsd: row.reserved / NANO,
            reservedTokens: row.reserved_tokens,
            requestedUsd: reservation.nano / NANO,
            requestedTokens: reservation.tokens,
          });
        }
      }
      return { ok: true, reservationId: reservation.reservationId };
    });
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
          const key = `${counter.scope}\u0000${counter.period}`;
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
            WHERE scope = $1 AND period = $2`,
          [counter.scope, counter.period, nano, tokens],
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
      const row = await readRow(client, counter.scope, counter.period);
      const usedUsd = counter.limitNano ? row.spent / counter.limitNano : 0;
      const usedTokens = counter.limitTokens ? row.spent_tokens / counter.limitTokens : 0;
      const used = Math.max(usedUsd, usedTokens);
      for (const threshold of counter.alertAt) {
        if (only ? threshold !== only.threshold : used + 1e-12 < threshold) continue;
        const fired = await client.query(
          `INSERT INTO keel_budget_alerts (scope, period, threshold, spent_nano_usd, spent_tokens)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT (scope, period, threshold) DO NOTHING RETURNING scope`,
          [counter.scope, counter.period, threshold, row.spent, row.spent_tokens],
        );
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
    }
    return alerts;
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
      };
      for (let tries = 0; ; tries += 1) {
        try {
          return await tryReserve(reservation);
        } catch (error) {
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
              WHERE scope = $1 AND period = $2`,
            [
              counter.scope,
              counter.period,
              wasOpen ? reservation.nano : 0,
              wasOpen ? reservation.tokens : 0,
              spentNano,
              spentTokens,
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
              WHERE scope = $1 AND period = $2`,
            [counter.scope, counter.period, row.nano, row.tokens],
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

async function readRow(client: SqlClient, scope: string, period: string): Promise<CounterRow> {
  const { rows } = await client.query<CounterRow>(
    `SELECT spent_nano_usd::float8 AS spent, reserved_nano_usd::float8 AS reserved,
            spent_tokens::float8 AS spent_tokens, reserved_tokens::float8 AS reserved_tokens
       FROM keel_budget_counters WHERE scope = $1 AND period = $2`,
    [scope, period],
  );
  return rows[0] ?? { spent: 0, reserved: 0, spent_tokens: 0, reserved_tokens: 0 };
}

function storedCounter(counter: BudgetCounter): StoredCounter {
  return {
    scope: counter.scope,
    period: counter.period,
    ...(counter.limitUsd === undefined ? {} : { limitNano: toNano(counter.limitUsd) }),
    ...(counter.limitTokens === undefined ? {} : { limitTokens: Math.floor(counter.limitTokens) }),
    alertAt: [...counter.alertAt],
  };
}

function parseCounters(value: unknown): StoredCounter[] {
  const counters = (typeof value === "string" ? JSON.parse(value) : value) as StoredCounter[];
  return [...counters].sort(compareCounters);
}

function compareCounters(a: { scope: string; period: string }, b: { scope: string; period: string }): number {
  const left = `${a.scope}\u0000${a.period}`;
  const right = `${b.scope}\u0000${b.period}`;
  return left < right ? -1 : left > right ? 1 : 0;
}

function toNano(usd: number): number {
  return Math.round(usd * NANO);
}
