import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Principal } from "../journal/index.ts";
import { GENESIS_HASH, verifyChain } from "../journal/index.ts";
import { loadMigrations } from "./run-migrations.ts";
import type { RunRecord } from "./store.ts";
import {
  createQueuedRun,
  readAllPages,
  rejectsWithCode,
  runEnd,
  runStart,
  type StoreContractContext,
  setCreatedAt,
  sleep,
  uniqueName,
} from "./store-contract-fixtures.ts";

/** Contract tests for migrations, creating, reading, listing and cancelling runs. */
export function runsContract(context: StoreContractContext): void {
  describe("migrations", () => {
    test("applies each migration once and migrating again changes nothing", async () => {
      const store = await context.openEmpty();
      await store.migrate();
      await store.migrate();
      const { rows } = await store.sql.query<{ id: string }>("SELECT id FROM keel_migrations ORDER BY id");
      assert.deepEqual(
        rows.map((row) => row.id),
        (await loadMigrations()).map((migration) => migration.id),
      );
      assert.equal((await store.createRun({ runId: uniqueName("run"), start: runStart("a") })).created, true);
    });

    test("applies each migration once when several stores migrate one database at the same moment", async () => {
      const store = await context.openEmpty();
      const peers = await Promise.all([1, 2, 3].map(async () => await context.openPeer(store)));
      await Promise.all([store, ...peers].map(async (each) => await each.migrate()));
      const { rows } = await store.sql.query<{ count: number | string }>(
        "SELECT count(*) AS count FROM keel_migrations",
      );
      assert.equal(Number(rows[0]?.count), (await loadMigrations()).length);
    });
  });

  describe("runs", () => {
    test("creates a queued run whose run-start event is seq 1 of a valid chain", async () => {
      const { store } = context;
      const agent = uniqueName("agent");
      const runId = uniqueName("run");
      const { run, created } = await store.createRun({
        runId,
        // Only the subject: the schema's defaults must fill in tenant and roles before the row is written.
        start: { ...runStart(agent, "what is 2+2?"), principal: { subject: "user:ada" } as Principal },
      });
      assert.equal(created, true);
      assert.equal(run.runId, runId);
      assert.equal(run.agent, agent);
      assert.equal(run.agentVersion, "1.0.0");
      assert.equal(run.status, "queued");
      assert.equal(run.input, "what is 2+2?");
      assert.deepEqual(run.principal, { subject: "user:ada", tenant: "default", roles: [] });
      assert.equal(run.lastSeq, 1);
      assert.equal(run.answer, null);
      assert.equal(run.error, null);
      assert.equal(run.cancelRequested, false);
      assert.equal(run.idempotencyKey, null);
      assert.ok(run.createdAt instanceof Date && run.updatedAt instanceof Date);
      const events = await store.readEvents({ runId });
      assert.equal(events.length, 1);
      assert.equal(events[0]?.type, "run-start");
      assert.equal(events[0]?.seq, 1);
      assert.equal(events[0]?.prevHash, GENESIS_HASH);
      assert.equal(verifyChain(events).ok, true);
      assert.deepEqual(await store.getRun(runId), run);
    });

    test("a run created leased to its creator is claimed by no worker, and its creator appends with token 1", async () => {
      const { store } = context;
      const agent = uniqueName("agent");
      const runId = uniqueName("run");
      await store.createRun({ runId, start: runStart(agent), leaseTo: { owner: "monitor", ttlMs: 30_000 } });
      assert.deepEqual(
        await store.claimRuns({ owner: "worker", ttlMs: 30_000, limit: 10, agents: [agent] }),
        [],
      );
      assert.equal(await store.acquireLease({ runId, owner: "worker", ttlMs: 30_000 }), null);
      const lease = { runId, owner: "monitor", token: 1, expiresAt: new Date(Date.now() + 30_000) };
      await store.append({ lease, events: [runEnd("completed")] });
      assert.equal((await store.getRun(runId))?.status, "completed");
    });

    test("returns the existing run with created false when an idempotency key repeats", async () => {
      const { store } = context;
      const agent = uniqueName("agent");
      const first = await store.createRun({
        runId: uniqueName("run"),
        start: runStart(agent),
        idempotencyKey: "k1",
      });
      const again = await store.createRun({
        runId: uniqueName("run"),
        start: runStart(agent),
        idempotencyKey: "k1",
      });
      assert.equal(first.created, true);
      assert.equal(again.created, false);
      assert.equal(again.run.runId, first.run.runId);
      assert.equal(again.run.idempotencyKey, "k1");
      const otherAgent = await store.createRun({
        runId: uniqueName("run"),
        start: runStart(uniqueName("agent")),
        idempotencyKey: "k1",
      });
      assert.equal(otherAgent.created, true, "keys are scoped to an agent");
    });

    test("creates exactly one run when many callers race with the same idempotency key", async () => {
      const { store, peer } = context;
      const agent = uniqueName("agent");
      const results = await Promise.all(
        Array.from({ length: 8 }, async (_, index) =>
          (index % 2 === 0 ? store : peer).createRun({
            runId: uniqueName("run"),
            start: runStart(agent),
            idempotencyKey: "same",
          }),
        ),
      );
      assert.equal(results.filter((result) => result.created).length, 1);
      assert.equal(new Set(results.map((result) => result.run.runId)).size, 1);
      assert.equal((await store.listRuns({ agent })).runs.length, 1);
    });

    test("refuses a second run with an id that already exists", async () => {
      const { store } = context;
      const run = await createQueuedRun(store);
      await rejectsWithCode(store.createRun({ runId: run.runId, start: runStart(run.agent) }), "conflict");
      assert.equal((await store.readEvents({ runId: run.runId })).length, 1);
    });

    test("rejects a run-start payload that breaks its schema and stores nothing", async () => {
      const { store } = context;
      const runId = uniqueName("run");
      await rejectsWithCode(
        store.createRun({ runId, start: { ...runStart("a"), maxSteps: 0 } }),
        "invalid_request",
      );
      assert.equal(await store.getRun(runId), null);
    });

    test("getRun returns null for a run that does not exist", async () => {
      assert.equal(await context.store.getRun(uniqueName("run")), null);
    });

    test("lists runs newest first, filtered by agent, status or ids, limited, paged, and before an instant", async () => {
      const { store } = context;
      const agent = uniqueName("agent");
      const created = [];
      for (let index = 0; index < 5; index += 1) {
        created.push(await createQueuedRun(store, agent));
        await sleep(2);
      }
      const other = await createQueuedRun(store);
      const ended = created[1]!;
      const lease = await store.acquireLease({ runId: ended.runId, owner: "w", ttlMs: 10_000 });
      await store.append({ lease: lease!, events: [runEnd()] });

      const { runs: all } = await store.listRuns({ agent });
      assert.deepEqual(
        all.map((run) => run.runId),
        created.map((run) => run.runId).reverse(),
      );
      assert.ok(!all.some((run) => run.runId === other.runId));
      const { runs: completed } = await store.listRuns({ agent, status: "completed" });
      assert.deepEqual(
        completed.map((run) => run.runId),
        [ended.runId],
      );
      assert.equal((await store.listRuns({ agent, status: "queued" })).runs.length, 4);
      const firstPage = await store.listRuns({ agent, limit: 2 });
      assert.equal(firstPage.runs.length, 2);
      const nextPage = await store.listRuns({ agent, limit: 2, startAfter: firstPage.next! });
      assert.deepEqual(
        nextPage.runs.map((run) => run.runId),
        [created[2]!.runId, created[1]!.runId],
      );
      const lastPage = await store.listRuns({ agent, limit: 2, startAfter: nextPage.next! });
      assert.deepEqual([lastPage.runs.map((run) => run.runId), lastPage.next], [[created[0]!.runId], null]);
      const older = await store.listRuns({ agent, before: created[1]!.createdAt });
      assert.deepEqual(
        older.runs.map((run) => run.runId),
        [created[0]!.runId],
      );
      const { runs: everyone } = await store.listRuns({ limit: 1000 });
      assert.ok(everyone.some((run) => run.runId === other.runId));
      const named = await store.listRuns({ ids: [created[0]!.runId, other.runId, "run_missing"] });
      assert.deepEqual(named.runs.map((run) => run.runId).sort(), [created[0]!.runId, other.runId].sort());
      assert.deepEqual(await store.listRuns({ ids: [created[0]!.runId], agent: "someone-else" }), {
        runs: [],
        next: null,
      });
      await rejectsWithCode(store.listRuns({ limit: 0 }), "invalid_request");
    });

    test("pages through runs created at one instant and in one millisecond with no run skipped or repeated", async () => {
      const { store } = context;
      const agent = uniqueName("agent");
      const runs: RunRecord[] = [];
      for (let index = 0; index < 7; index += 1) runs.push(await createQueuedRun(store, agent));
      // As group commit and batch creation leave them: three runs share one instant, two more fall in its
      // millisecond, and one is a millisecond older, so a page can end in the middle of either group.
      const instants = [
        "2026-03-01T09:00:00.123456Z",
        "2026-03-01T09:00:00.123456Z",
        "2026-03-01T09:00:00.123456Z",
        "2026-03-01T09:00:00.123999Z",
        "2026-03-01T09:00:00.123001Z",
        "2026-03-01T09:00:00.122999Z",
        "2026-03-01T09:00:01.000000Z",
      ];
      await setCreatedAt(
        store,
        "keel_runs",
        "run_id",
        runs.map((run, index) => [run.runId, instants[index]!]),
      );

      const { runs: all, next } = await store.listRuns({ agent, tenant: "default", limit: 100 });
      assert.equal(next, null);
      const ids = (indexes: number[]) => indexes.map((index) => runs[index]!.runId);
      const listed = all.map((run) => run.runId);
      assert.deepEqual(
        [listed.slice(0, 2), listed.slice(2, 5).sort(), listed.slice(5)],
        [ids([6, 3]), ids([0, 1, 2]).sort(), ids([4, 5])],
      );
      for (const limit of [1, 2, 3]) {
        const paged = await readAllPages(async (startAfter) => {
          const page = await store.listRuns({
            agent,
            tenant: "default",
            limit,
            ...(startAfter === undefined ? {} : { startAfter }),
          });
          return { rows: page.runs, next: page.next };
        });
        assert.deepEqual(
          paged.map((run) => run.runId),
          all.map((run) => run.runId),
          `pages of ${limit}`,
        );
      }
      // `before` keeps its meaning: created strictly before the instant, to the microsecond.
      const before = await store.listRuns({ agent, before: new Date("2026-03-01T09:00:00.123Z") });
      assert.deepEqual(
        before.runs.map((run) => run.runId),
        [runs[5]!.runId],
      );
    });

    test("requestCancel flags a live run, leaves an ended run as it was, and returns null for an unknown run", async () => {
      const { store } = context;
      const run = await createQueuedRun(store);
      const cancelled = await store.requestCancel(run.runId, { by: "user:ada" });
      assert.equal(cancelled?.cancelRequested, true);
      assert.equal((await store.getRun(run.runId))?.cancelRequested, true);

      const ended = await createQueuedRun(store);
      const lease = await store.acquireLease({ runId: ended.runId, owner: "w", ttlMs: 10_000 });
      await store.append({ lease: lease!, events: [runEnd()] });
      const unchanged = await store.requestCancel(ended.runId, { by: "user:ada" });
      assert.equal(unchanged?.status, "completed");
      assert.equal(unchanged?.cancelRequested, false);

      assert.equal(await store.requestCancel(uniqueName("run"), { by: "user:ada" }), null);
    });

    test("records each run's tenant from its principal and lists only that tenant's runs when asked", async () => {
      const { store } = context;
      const agent = uniqueName("agent");
      const tenantA = uniqueName("tenant");
      const tenantB = uniqueName("tenant");
      const start = (tenant: string) => ({
        ...runStart(agent),
        principal: { subject: "user:ada", tenant, roles: [] },
      });
      const { run: ofA } = await store.createRun({ runId: uniqueName("run"), start: start(tenantA) });
      const { run: ofB } = await store.createRun({ runId: uniqueName("run"), start: start(tenantB) });
      assert.equal(ofA.tenant, tenantA);
      assert.equal((await store.getRun(ofB.runId))?.tenant, tenantB);
      assert.deepEqual(
        (await store.listRuns({ agent, tenant: tenantA })).runs.map((run) => run.runId),
        [ofA.runId],
      );
      assert.deepEqual(
        (await store.listRuns({ agent })).runs.map((run) => run.runId).sort(),
        [ofA.runId, ofB.runId].sort(),
      );
    });
  });
}
