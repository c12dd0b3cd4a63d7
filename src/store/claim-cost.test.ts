import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { testStores } from "../../test/support/test-database.ts";
import type { SqlStore } from "./sql-store.ts";
import { uniqueName } from "./store-contract-fixtures.ts";

/** Runs waiting for a person, each with its deadline set as a timer, beside which a claim must cost the same. */
const WAITING = 1_500;

type PlanNode = {
  "Node Type": string;
  "Index Name"?: string;
  "Actual Rows"?: number;
  "Rows Removed by Filter"?: number;
  Plans?: PlanNode[];
};

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/**
 * What a worker's claim reads (invariant 7): the runs that need a worker and the timers that came due, through
 * their indexes, never every suspended run. Checked on the statement's generic plan, the one a prepared statement
 * settles on, by the rows its scans return and filter out, not by time.
 */
for (const subject of testStores()) {
  describe(`a claim beside ${WAITING} waiting runs on ${subject.name}`, () => {
    let store: SqlStore;
    before(async () => {
      store = await subject.open();
    });
    after(async () => {
      await store.close();
    });

    test("reads only the timers that came due, not every waiting run's deadline", async () => {
      const agent = uniqueName("waiter");
      // Written straight into the table: the rows a suspended run with a deadline leaves, many of them quickly.
      await store.sql.query(
        `INSERT INTO keel_runs (run_id, agent, agent_version, status, input, principal, last_seq, last_hash, wake_at)
         SELECT $1 || '_' || g, $2, '1.0.0', 'suspended', 'waiting', '{"subject":"s","tenant":"default","roles":[]}'::jsonb,
                1, '', now() + interval '1 day'
           FROM generate_series(1, $3::int) AS g`,
        [uniqueName("run"), agent, WAITING],
      );
      let claimSql = "";
      const query = store.sql.query.bind(store.sql);
      const spied = store.sql as { query: typeof query };
      spied.query = async (sql, params, options) => {
        if (options?.prepared === "keel_claim_runs") claimSql = sql;
        return await query(sql, params, options);
      };
      try {
        assert.deepEqual(
          await store.claimRuns({ owner: "claim-cost", ttlMs: 10_000, limit: 8, agents: [agent] }),
          [],
        );
      } finally {
        spied.query = query;
      }
      assert.ok(claimSql, "the claim was sent as the prepared keel_claim_runs");
      await store.sql.transaction(async (tx) => {
        await tx.query("SET LOCAL plan_cache_mode = force_generic_plan");
        await tx.query(`PREPARE claim_cost_plan(text, float8, text[], int) AS ${claimSql}`);
        const { rows } = await tx.query<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(
          `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE claim_cost_plan('claim-cost', 10000, ARRAY['${agent}'], 8)`,
        );
        await tx.query("DEALLOCATE claim_cost_plan");
        const plan = rows[0]!["QUERY PLAN"][0].Plan;
        const read = nodes(plan).map(
          (node) => (node["Actual Rows"] ?? 0) + (node["Rows Removed by Filter"] ?? 0),
        );
        assert.ok(
          Math.max(...read) < 10,
          `a plan node read ${Math.max(...read)} rows:\n${JSON.stringify(plan, null, 1)}`,
        );
      });
    });
  });
}
