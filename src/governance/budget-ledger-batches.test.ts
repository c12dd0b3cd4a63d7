import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlClient, Store } from "../store/store.ts";
import type { BudgetCounter, BudgetLedger } from "./budget-ledger.ts";
import { createSqlBudgetLedger, DAY_COUNTER_SHARDS } from "./budget-ledger-sql.ts";

const serverUrl = testDatabaseServerUrl();

const day = (scope: string, usd: number): BudgetCounter => ({
  scope,
  period: "2026-12-06",
  limitUsd: usd,
  alertAt: [0.5, 0.8, 1],
});

/** The store's own SQL client, counting the commits it is asked for: autocommit statements and transactions. */
function countingCommits(sql: SqlClient): { sql: SqlClient; commits(): number } {
  let commits = 0;
  return {
    sql: {
      ...(sql.kind ? { kind: sql.kind } : {}),
      async query(text, params) {
        commits += 1;
        return await sql.query(text, params);
      },
      async transaction(work) {
        commits += 1;
        return await sql.transaction(work);
      },
    },
    commits: () => commits,
  };
}

/**
 * A counter's first call creates its shards; a call on a shard without a slice takes the locked path, alone, and
 * grants it one. Make $1 calls (settled at `settleUsd`) until every shard holds a slice with room for more than
 * $1, so a burst that follows has room on whichever shards it picks and goes in one statement. Returns the calls made.
 */
async function sliceEveryShard(
  store: Store,
  ledger: BudgetLedger,
  counter: BudgetCounter,
  prefix: string,
  settleUsd: number,
): Promise<number> {
  const sliced = async () => {
    const { rows } = await store.sql.query<{ sliced: number }>(
      "SELECT count(*)::integer AS sliced FROM keel_budget_counters WHERE scope = $1 AND allowance_nano_usd > spent_nano_usd + reserved_nano_usd + 1000000000",
      [counter.scope],
    );
    return rows[0]!.sliced;
  };
  let calls = 0;
  while ((await sliced()) < DAY_COUNTER_SHARDS && calls < 400) {
    const reservationId = `${prefix}-${calls}`;
    assert.equal((await ledger.reserve({ reservationId, counters: [counter], usd: 1, tokens: 1 })).ok, true);
    await ledger.settle({ reservationId, usd: settleUsd, tokens: settleUsd });
    calls += 1;
  }
  assert.equal(await sliced(), DAY_COUNTER_SHARDS, "every shard holds a slice with room");
  return calls;
}

for (const kind of ["pglite", "postgres"] as const) {
  describe(`the budget ledger's group commit on ${kind}`, { skip: kind === "postgres" && !serverUrl }, () => {
    let store: Store;
    before(async () => {
      const databaseUrl = kind === "postgres" ? await createTestDatabase(serverUrl!) : undefined;
      store = await openStore(databaseUrl ? { databaseUrl } : {});
    });
    after(async () => {
      await store.close();
    });

    test("holds and settles 64 concurrent calls on one counter in a few shared statements, exactly", async () => {
      const counting = countingCommits(store.sql);
      const ledger = createSqlBudgetLedger(counting.sql);
      const counter = day("key:group", 1_000);
      const warm = await sliceEveryShard(store, ledger, counter, "g-warm", 1);
      const before = counting.commits();
      const outcomes = await Promise.all(
        Array.from({ length: 64 }, (_, index) =>
          ledger.reserve({ reservationId: `g-${index}`, counters: [counter], usd: 0.01, tokens: 10 }),
        ),
      );
      const afterReserve = counting.commits();
      assert.ok(
        outcomes.every((outcome) => outcome.ok),
        "every call fits a $1,000 cap",
      );
      await Promise.all(
        outcomes.map((_, index) => ledger.settle({ reservationId: `g-${index}`, usd: 0.004, tokens: 4 })),
      );
      const afterSettle = counting.commits();
      assert.ok(
        afterSettle - afterReserve <= 2,
        `64 settlements took ${afterSettle - afterReserve} commits, one shared statement expected`,
      );
      assert.ok(
        afterReserve - before <= 2,
        `64 reservations took ${afterReserve - before} commits, one shared statement expected`,
      );
      const totals = await ledger.read(counter);
      assert.equal(totals.reservedUsd, 0, "every hold was swapped for its cost");
      assert.ok(Math.abs(totals.spentUsd - (warm + 64 * 0.004)) < 1e-9, `spent ${totals.spentUsd}`);
      assert.equal(totals.spentTokens, warm + 64 * 4);
      const again = await Promise.all(
        outcomes.map((_, index) => ledger.settle({ reservationId: `g-${index}`, usd: 0.004, tokens: 4 })),
      );
      assert.deepEqual(
        again.map((settled) => settled.alerts.length),
        outcomes.map(() => 0),
      );
      assert.ok(
        Math.abs((await ledger.read(counter)).spentUsd - (warm + 64 * 0.004)) < 1e-9,
        "settling a group twice counts it once",
      );
    });

    test("never lets a concurrent group pass a cap, and fires each alert once", async () => {
      const ledger = createSqlBudgetLedger(store.sql);
      const counter = day("key:group-cap", 2);
      const alerts: number[] = [];
      let admitted = 0;
      await Promise.all(
        Array.from({ length: 300 }, async (_, index) => {
          const outcome = await ledger.reserve({
            reservationId: `gc-${index}`,
            counters: [counter],
            usd: 0.01,
            tokens: 1,
          });
          if (!outcome.ok) {
            alerts.push(...outcome.alerts.map((alert) => alert.threshold));
            return;
          }
          admitted += 1;
          const settled = await ledger.settle({ reservationId: `gc-${index}`, usd: 0.01, tokens: 1 });
          alerts.push(...settled.alerts.map((alert) => alert.threshold));
        }),
      );
      const totals = await ledger.read(counter);
      assert.ok(totals.spentUsd <= 2 + 1e-9, `spent ${totals.spentUsd} of a $2 cap`);
      assert.equal(admitted, 200, "$2 holds exactly two hundred $0.01 calls");
      assert.equal(totals.reservedUsd, 0);
      assert.deepEqual(
        alerts.sort(),
        [0.5, 0.8, 1],
        "each threshold fires once, however the settles were grouped",
      );
    });

    test("fails every caller of a group whose statement fails, holding and settling nothing", async () => {
      const ledger = createSqlBudgetLedger(store.sql);
      const counter = day("key:group-fails", 100);
      await sliceEveryShard(store, ledger, counter, "gf-warm", 0);
      // A rule of the database that one reservation of the group breaks, so the whole statement fails.
      await store.sql.query(
        "ALTER TABLE keel_budget_reservations ADD CONSTRAINT gf_no_poison CHECK (reservation_id NOT LIKE 'gf-poison%')",
      );
      try {
        const ids = ["gf-a", "gf-b", "gf-poison", "gf-c"];
        const outcomes = await Promise.allSettled(
          ids.map((reservationId) =>
            ledger.reserve({ reservationId, counters: [counter], usd: 0.01, tokens: 1 }),
          ),
        );
        for (const outcome of outcomes) {
          assert.equal(outcome.status, "rejected", "each caller of the group hears of the failure");
          assert.match(String((outcome as PromiseRejectedResult).reason), /gf_no_poison/);
        }
        assert.equal((await ledger.read(counter)).reservedUsd, 0, "nothing was held");

        const held = await Promise.all(
          ["gf-d", "gf-e", "gf-f"].map((reservationId) =>
            ledger.reserve({ reservationId, counters: [counter], usd: 0.01, tokens: 1 }),
          ),
        );
        assert.ok(held.every((outcome) => outcome.ok));
        await store.sql.query(
          "ALTER TABLE keel_budget_reservations ADD CONSTRAINT gf_small_costs CHECK (settled_nano_usd IS NULL OR settled_nano_usd < 50000000000)",
        );
        const settled = await Promise.allSettled([
          ledger.settle({ reservationId: "gf-d", usd: 0.01, tokens: 1 }),
          ledger.settle({ reservationId: "gf-e", usd: 99, tokens: 1 }),
          ledger.settle({ reservationId: "gf-f", usd: 0.01, tokens: 1 }),
        ]);
        for (const outcome of settled) {
          assert.equal(outcome.status, "rejected", "each settling caller of the group hears of the failure");
          assert.match(String((outcome as PromiseRejectedResult).reason), /gf_small_costs/);
        }
        const totals = await ledger.read(counter);
        assert.ok(Math.abs(totals.reservedUsd - 0.03) < 1e-9, "the holds stand, ready to settle again");
        assert.equal(totals.spentUsd, 0);
        await Promise.all(
          ["gf-d", "gf-f"].map((reservationId) => ledger.settle({ reservationId, usd: 0.01, tokens: 1 })),
        );
        assert.ok(Math.abs((await ledger.read(counter)).spentUsd - 0.02) < 1e-9, "a retry settles");
      } finally {
        await store.sql.query("ALTER TABLE keel_budget_reservations DROP CONSTRAINT IF EXISTS gf_no_poison");
        await store.sql.query(
          "ALTER TABLE keel_budget_reservations DROP CONSTRAINT IF EXISTS gf_small_costs",
        );
      }
    });
  });
}
