import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { openStore } from "../store/open-store.ts";
import type { Store } from "../store/store.ts";
import { type BudgetCounter, type BudgetLedger, budgetCounters, describeRefusal } from "./budget-ledger.ts";
import { EXHAUSTION_COUNTER, RACE_COUNTER, runBudgetRace, runExhaustionRace } from "./budget-ledger-race.ts";
import { createSqlBudgetLedger, DAY_COUNTER_SHARDS } from "./budget-ledger-sql.ts";

const run = promisify(execFile);
const serverUrl = testDatabaseServerUrl();

/** Spend $0.95 of the exhaustion race's $1 cap in 95 concurrent calls, leaving slices on many shards. */
async function nearlyExhaust(ledger: BudgetLedger, prefix: string): Promise<void> {
  const outcomes = await Promise.all(
    Array.from({ length: 95 }, async (_, index) => {
      const reservationId = `${prefix}-${index}`;
      const outcome = await ledger.reserve({
        reservationId,
        counters: [EXHAUSTION_COUNTER],
        usd: 0.01,
        tokens: 100,
      });
      if (outcome.ok) await ledger.settle({ reservationId, usd: 0.01, tokens: 100 });
      return outcome.ok;
    }),
  );
  assert.equal(outcomes.filter(Boolean).length, 95, "every call fits while the cap has room");
}

async function shardRows(store: Store, scope: string): Promise<number> {
  const { rows } = await store.sql.query<{ rows: number }>(
    "SELECT count(*)::integer AS rows FROM keel_budget_counters WHERE scope = $1 AND spent_nano_usd > 0",
    [scope],
  );
  return rows[0]!.rows;
}

const cap = (usd: number, scope = "agent:a", alertAt: number[] = [0.5, 0.8, 1]): BudgetCounter => ({
  scope,
  period: "2026-11-21",
  limitUsd: usd,
  alertAt,
});

// Each store's ledger is its own database and shares nothing: the two stores run side by side, each store's tests
// one after another.
describe("the budget ledger, on each store", { concurrency: true }, () => {
  for (const kind of ["pglite", "postgres"] as const) {
    describe(`the budget ledger on ${kind}`, {
      skip: kind === "postgres" && !serverUrl,
      concurrency: 1,
    }, () => {
      let store: Store;
      let databaseUrl: string | undefined;
      before(async () => {
        databaseUrl = kind === "postgres" ? await createTestDatabase(serverUrl!) : undefined;
        store = await openStore(databaseUrl ? { databaseUrl } : {});
      });
      after(async () => {
        await store.close();
      });

      test("reserves within a cap and refuses a call that could pass it, saying why", async () => {
        const ledger = createSqlBudgetLedger(store.sql);
        const counter = cap(1, "agent:refuse");
        assert.deepEqual(
          await ledger.reserve({ reservationId: "r1", counters: [counter], usd: 0.6, tokens: 10 }),
          {
            ok: true,
            reservationId: "r1",
          },
        );
        const refused = await ledger.reserve({
          reservationId: "r2",
          counters: [counter],
          usd: 0.6,
          tokens: 10,
        });
        assert.equal(refused.ok, false);
        if (refused.ok) return;
        assert.equal(refused.refusal.scope, "agent:refuse");
        assert.equal(refused.refusal.reservedUsd, 0.6);
        assert.match(
          describeRefusal(refused.refusal),
          /agent:refuse on 2026-11-21 is exhausted: \$0\.0000 spent and \$0\.6000 held of a \$1 cap/,
        );
      });

      test("settles the real cost and frees the rest of the hold", async () => {
        const ledger = createSqlBudgetLedger(store.sql);
        const counter = cap(1, "agent:settle");
        await ledger.reserve({ reservationId: "s1", counters: [counter], usd: 0.6, tokens: 100 });
        await ledger.settle({ reservationId: "s1", usd: 0.25, tokens: 40 });
        assert.deepEqual(await ledger.read(counter), {
          spentUsd: 0.25,
          spentTokens: 40,
          reservedUsd: 0,
          reservedTokens: 0,
        });
        await ledger.settle({ reservationId: "s1", usd: 0.25, tokens: 40 });
        assert.equal((await ledger.read(counter)).spentUsd, 0.25, "settling twice counts once");
        const again = await ledger.reserve({
          reservationId: "s1",
          counters: [counter],
          usd: 0.6,
          tokens: 100,
        });
        assert.equal(again.ok, true);
        assert.equal(
          (await ledger.read(counter)).reservedUsd,
          0,
          "a repeated reservation id holds nothing new",
        );
      });

      test("holds nothing new for a repeated reservation id even when its shard has room", async () => {
        const ledger = createSqlBudgetLedger(store.sql);
        const run = { scope: "run:repeat", period: "run", limitUsd: 10, alertAt: [] };
        for (let attempt = 0; attempt < 3; attempt += 1) {
          assert.deepEqual(
            await ledger.reserve({ reservationId: "rep", counters: [run], usd: 0.1, tokens: 1 }),
            {
              ok: true,
              reservationId: "rep",
            },
          );
        }
        assert.ok(Math.abs((await ledger.read(run)).reservedUsd - 0.1) < 1e-9, "held once");
      });

      test("holds every counter or none", async () => {
        const ledger = createSqlBudgetLedger(store.sql);
        const roomy = cap(10, "tenant:both");
        const tight = { scope: "run:both", period: "run", limitTokens: 50, alertAt: [] };
        const refused = await ledger.reserve({
          reservationId: "b1",
          counters: [roomy, tight],
          usd: 1,
          tokens: 80,
        });
        assert.equal(refused.ok, false);
        assert.equal((await ledger.read(roomy)).reservedUsd, 0);
      });

      test("fires each alert threshold once per period", async () => {
        const ledger = createSqlBudgetLedger(store.sql);
        const counter = cap(1, "agent:alerts");
        const fired: number[] = [];
        for (let index = 0; index < 6; index += 1) {
          const outcome = await ledger.reserve({
            reservationId: `al${index}`,
            counters: [counter],
            usd: 0.2,
            tokens: 1,
          });
          if (!outcome.ok) {
            fired.push(...outcome.alerts.map((alert) => alert.threshold));
            continue;
          }
          const { alerts } = await ledger.settle({ reservationId: `al${index}`, usd: 0.2, tokens: 1 });
          fired.push(...alerts.map((alert) => alert.threshold));
        }
        assert.deepEqual(fired, [0.5, 0.8, 1]);
        const nextDay = { ...counter, period: "2026-11-22" };
        await ledger.reserve({ reservationId: "al-next", counters: [nextDay], usd: 0.6, tokens: 1 });
        const { alerts } = await ledger.settle({ reservationId: "al-next", usd: 0.6, tokens: 1 });
        assert.deepEqual(
          alerts.map((alert) => alert.threshold),
          [0.5],
          "a new period alerts again",
        );
      });

      test("releases holds left by a caller that died, once they expire", async () => {
        let clock = new Date("2026-11-21T10:00:00Z");
        const ledger = createSqlBudgetLedger(store.sql, { now: () => clock });
        const counter = cap(1, "agent:expire");
        await ledger.reserve({
          reservationId: "e1",
          counters: [counter],
          usd: 0.9,
          tokens: 1,
          ttlMs: 60_000,
        });
        assert.equal(
          (await ledger.reserve({ reservationId: "e2", counters: [counter], usd: 0.5, tokens: 1 })).ok,
          false,
        );
        clock = new Date("2026-11-21T10:02:00Z");
        assert.equal(
          (await ledger.reserve({ reservationId: "e3", counters: [counter], usd: 0.5, tokens: 1 })).ok,
          true,
        );
      });

      test("keeps 1,000 concurrent calls within a $5 cap", async () => {
        const ledger = createSqlBudgetLedger(store.sql);
        const outcome = await runBudgetRace({ ledger, prefix: `race-${kind}`, calls: 1_000 });
        const counter = await ledger.read(RACE_COUNTER);
        assert.ok(counter.spentUsd <= 5 + 1e-9, `spent ${counter.spentUsd}`);
        assert.ok(outcome.refused > 0, "the cap was reached");
        assert.equal(counter.reservedUsd, 0);
        assert.ok(Math.abs(counter.spentUsd - outcome.settledUsd) < 1e-6);
      });

      test("admits exactly what is left when 400 calls race for the last $0.05 of a cap spread over shards", async () => {
        const ledger = createSqlBudgetLedger(store.sql);
        await nearlyExhaust(ledger, `fill-${kind}`);
        assert.ok(
          (await shardRows(store, EXHAUSTION_COUNTER.scope)) > 1,
          "the calls were spread over several rows",
        );
        const outcome = await runExhaustionRace({ ledger, prefix: `exhaust-${kind}`, calls: 400 });
        assert.equal(outcome.admitted, 5, "five $0.01 calls fit and no more: none admitted past the cap");
        assert.ok(Math.abs(outcome.heldUsd - 0.05) < 1e-9, `held ${outcome.heldUsd}`);
        const counter = await ledger.read(EXHAUSTION_COUNTER);
        assert.ok(Math.abs(counter.spentUsd - 1) < 1e-9, `spent ${counter.spentUsd} of $1`);
        assert.equal(counter.reservedUsd, 0);
      });

      test("takes back the slices shards hold when a cap is lowered", async () => {
        const ledger = createSqlBudgetLedger(store.sql);
        const roomy = cap(10, "key:lowered");
        for (let index = 0; index < 2 * DAY_COUNTER_SHARDS; index += 1) {
          assert.equal(
            (await ledger.reserve({ reservationId: `lo${index}`, counters: [roomy], usd: 0.01, tokens: 1 }))
              .ok,
            true,
          );
          await ledger.settle({ reservationId: `lo${index}`, usd: 0.01, tokens: 1 });
        }
        const lowered = { ...roomy, limitUsd: 0.4 };
        const refused = await ledger.reserve({
          reservationId: "lo-over",
          counters: [lowered],
          usd: 0.1,
          tokens: 1,
        });
        assert.equal(refused.ok, false, "$0.32 spent and $0.10 more would pass the $0.40 cap");
        const fits = await ledger.reserve({
          reservationId: "lo-fits",
          counters: [lowered],
          usd: 0.08,
          tokens: 1,
        });
        assert.equal(fits.ok, true);
        assert.ok(Math.abs((await ledger.read(roomy)).reservedUsd - 0.08) < 1e-9);
      });

      if (kind === "postgres") {
        test("admits exactly what is left when two processes race for the last $0.05 of a cap", async () => {
          const shared = await createTestDatabase(serverUrl!);
          const setup = await openStore({ databaseUrl: shared });
          try {
            const ledger = createSqlBudgetLedger(setup.sql);
            await nearlyExhaust(ledger, "fill");
            const child = new URL("./budget-ledger-race-child.ts", import.meta.url).pathname;
            const outputs = await Promise.all(
              ["left", "right"].map((side) =>
                run(process.execPath, [child, shared, side, "300", "exhaust"], { timeout: 120_000 }),
              ),
            );
            const outcomes = outputs.map(
              (output) => JSON.parse(output.stdout.trim()) as Awaited<ReturnType<typeof runExhaustionRace>>,
            );
            const admitted = outcomes.reduce((sum, outcome) => sum + outcome.admitted, 0);
            assert.equal(admitted, 5, "five $0.01 calls fit across both processes and no more");
            const counter = await ledger.read(EXHAUSTION_COUNTER);
            assert.ok(Math.abs(counter.spentUsd - 1) < 1e-9, `spent ${counter.spentUsd} of $1`);
            assert.equal(counter.reservedUsd, 0);
          } finally {
            await setup.close();
          }
        });

        test("keeps 1,000 concurrent calls from two processes on one PostgreSQL within a $5 cap", async () => {
          const shared = await createTestDatabase(serverUrl!);
          const setup = await openStore({ databaseUrl: shared });
          try {
            const child = new URL("./budget-ledger-race-child.ts", import.meta.url).pathname;
            const outputs = await Promise.all(
              ["left", "right"].map((side) =>
                run(process.execPath, [child, shared, side, "500"], { timeout: 120_000 }),
              ),
            );
            const outcomes = outputs.map(
              (output) => JSON.parse(output.stdout.trim()) as Awaited<ReturnType<typeof runBudgetRace>>,
            );
            const counter = await createSqlBudgetLedger(setup.sql).read(RACE_COUNTER);
            const admitted = outcomes.reduce((sum, outcome) => sum + outcome.admitted, 0);
            const settled = outcomes.reduce((sum, outcome) => sum + outcome.settledUsd, 0);
            assert.ok(counter.spentUsd <= 5 + 1e-9, `spent ${counter.spentUsd} of $5`);
            assert.ok(Math.abs(counter.spentUsd - settled) < 1e-6, "every settled call is counted");
            assert.ok(admitted >= 500 && admitted < 1_000, `admitted ${admitted}`);
            assert.equal(counter.reservedUsd, 0);
            const alerts = outcomes.flatMap((outcome) => outcome.alerts).sort();
            assert.deepEqual(alerts, [0.5, 0.8, 1], "each threshold fired once across both processes");
          } finally {
            await setup.close();
          }
        });
      }
    });
  }
});

describe("budget counters", () => {
  test("count a run, the agent's day and the tenant's day, only where a cap is set", () => {
    const counters = budgetCounters({
      budgets: { perRun: { usd: 0.5 }, perAgentPerDay: { usd: 50, alertAt: [0.9] } },
      runId: "run_1",
      agent: "support-triage",
      tenant: "acme",
      now: new Date("2026-11-21T23:59:00Z"),
    });
    assert.deepEqual(counters, [
      { scope: "run:run_1", period: "run", limitUsd: 0.5, alertAt: [0.5, 0.8, 1] },
      { scope: "agent:support-triage", period: "2026-11-21", limitUsd: 50, alertAt: [0.9] },
    ]);
  });
});
