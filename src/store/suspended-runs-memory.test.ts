import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { testStores } from "../../test/support/test-database.ts";
import type { SqlStore } from "./sql-store.ts";
import { runEnd, runStart, stepStart, uniqueName } from "./store-contract-fixtures.ts";

const RUNS = 50;

for (const subject of testStores()) {
  describe(`suspended runs on ${subject.name}`, () => {
    let store: SqlStore;
    before(async () => {
      store = await subject.open();
    });
    after(async () => {
      await store.close();
    });

    test("the store remembers no journal head for a suspended run, and remembers it again once the run is claimed", async () => {
      const agent = uniqueName("sleeper");
      const before = store.knownHeads;
      await Promise.all(
        Array.from({ length: RUNS }, async () => {
          await store.createRun({ runId: uniqueName("run"), start: runStart(agent) });
        }),
      );
      const leases = await store.claimRuns({
        owner: "heads-test",
        ttlMs: 60_000,
        limit: RUNS,
        agents: [agent],
      });
      assert.equal(leases.length, RUNS);
      // A claimed run's head is remembered, so its next append is one fenced statement.
      await Promise.all(leases.map(async (lease) => await store.append({ lease, events: [stepStart(1)] })));
      assert.equal(store.knownHeads, before + RUNS);
      const suspend = { type: "run-suspend" as const, payload: { reason: "waits for a signal" } };
      await Promise.all(leases.map(async (lease) => await store.append({ lease, events: [suspend] })));
      await Promise.all(leases.map(async (lease) => await store.releaseLease(lease)));
      assert.equal(store.knownHeads, before, "a suspended run's head is not kept in the process");
      const { rows } = await store.sql.query<{ count: number }>(
        "SELECT count(*)::int AS count FROM keel_runs WHERE agent = $1 AND status = 'suspended'",
        [agent],
      );
      assert.equal(rows[0]?.count, RUNS);

      // Resumed and claimed again, a run is written under its new lease as before, and forgotten when it ends.
      const [first] = leases;
      await store.journalTransaction({
        runId: first!.runId,
        owner: "heads-test",
        ttlMs: 60_000,
        release: true,
        decide: () => ({
          events: [{ type: "run-resume", payload: { reason: "signal go", worker: "heads-test" } }],
          result: null,
        }),
      });
      const [again] = await store.claimRuns({
        owner: "heads-test",
        ttlMs: 60_000,
        limit: 1,
        agents: [agent],
      });
      assert.equal(again?.runId, first!.runId);
      await store.append({ lease: again!, events: [stepStart(2)] });
      assert.equal(store.knownHeads, before + 1);
      await store.append({ lease: again!, events: [runEnd()] });
      assert.equal(store.knownHeads, before);
      assert.equal((await store.getRun(first!.runId))?.status, "completed");
    });
  });
}
