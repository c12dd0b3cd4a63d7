import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { JournalEvent, NewEvent } from "../journal/index.ts";
import { hashPayload, verifyChain } from "../journal/index.ts";
import type { SqlStore } from "./sql-store.ts";
import type { Lease } from "./store.ts";
import {
  createQueuedRun,
  modelCallStart,
  rejectsWithCode,
  runEnd,
  type StoreContractContext,
  sleep,
  stepStart,
  uniqueName,
} from "./store-contract-fixtures.ts";

async function leasedRun(store: SqlStore): Promise<Lease> {
  const run = await createQueuedRun(store);
  const lease = await store.acquireLease({ runId: run.runId, owner: "worker-a", ttlMs: 30_000 });
  assert.ok(lease);
  return lease;
}

/** Contract tests for appending, reading and waiting on a run's journal. */
export function journalContract(context: StoreContractContext): void {
  describe("journal", () => {
    test("assigns dense seqs and hash links that verifyChain accepts, and reads back what append returned", async () => {
      const { store } = context;
      const lease = await leasedRun(store);
      const returned: JournalEvent[] = [];
      for (let step = 1; step <= 4; step += 1) {
        returned.push(...(await store.append({ lease, events: [stepStart(step), modelCallStart(step)] })));
      }
      const events = await store.readEvents({ runId: lease.runId });
      assert.deepEqual(
        events.map((event) => event.seq),
        [1, 2, 3, 4, 5, 6, 7, 8, 9],
      );
      assert.deepEqual(verifyChain(events), { ok: true, events: 9, head: events[8]!.hash });
      assert.deepEqual(events.slice(1), returned);
      assert.equal((await store.getRun(lease.runId))?.lastSeq, 9);
    });

    test("pages through events with afterSeq and limit", async () => {
      const { store } = context;
      const lease = await leasedRun(store);
      await store.append({ lease, events: [stepStart(1), modelCallStart(1), stepStart(2)] });
      const page = await store.readEvents({ runId: lease.runId, afterSeq: 1, limit: 2 });
      assert.deepEqual(
        page.map((event) => event.seq),
        [2, 3],
      );
      assert.deepEqual(
        (await store.readEvents({ runId: lease.runId, afterSeq: 3 })).map((event) => event.seq),
        [4],
      );
      assert.deepEqual(await store.readEvents({ runId: uniqueName("run") }), []);
      // The largest sequence number the API accepts: nothing after it, and no integer overflow on the way.
      assert.deepEqual(await store.readEvents({ runId: lease.runId, afterSeq: 2_147_483_647 }), []);
    });

    test("reads back any JSON payload so that it hashes exactly as it did when appended", async () => {
      const { store } = context;
      const lease = await leasedRun(store);
      let step = 0;
      // Any code point, but not the two things jsonb refuses (NUL, unpaired surrogates): append rejects those.
      const storable = fc
        .jsonValue({ stringUnit: "binary" })
        .filter((value) => !/\\u0000|\\ud[89a-f]/i.test(JSON.stringify(value) ?? ""));
      await fc.assert(
        fc.asyncProperty(storable, async (result) => {
          step += 1;
          const [stored] = await store.append({
            lease,
            events: [
              {
                type: "tool-call-end",
                payload: { step, callId: `c${step}`, tool: "t", outcome: "ok", result, durationMs: 1.5 },
              },
            ],
          });
          const [readBack] = await store.readEvents({
            runId: lease.runId,
            afterSeq: stored!.seq - 1,
            limit: 1,
          });
          assert.equal(hashPayload(readBack!.payload), stored!.payloadHash);
          assert.deepEqual(readBack, stored);
        }),
        { numRuns: 60 },
      );
      assert.equal(verifyChain(await store.readEvents({ runId: lease.runId })).ok, true);
    });

    test("projects each event kind onto the run row", async () => {
      const { store } = context;
      const lease = await leasedRun(store);
      const statusAfter = async (events: NewEvent[]) => {
        await store.append({ lease, events });
        return await store.getRun(lease.runId);
      };
      // Leased, a queued run is running before its first step is journaled; a step-start keeps it so.
      assert.equal((await store.getRun(lease.runId))?.status, "running");
      assert.equal((await statusAfter([modelCallStart(1)]))?.status, "running");
      assert.equal((await statusAfter([stepStart(1)]))?.status, "running");
      assert.equal(
        (await statusAfter([{ type: "run-suspend", payload: { reason: "approval" } }]))?.status,
        "suspended",
      );
      const resumed = await statusAfter([
        { type: "run-resume", payload: { reason: "approved", worker: "w" } },
      ]);
      assert.equal(resumed?.status, "running");
      const before = resumed!.updatedAt;
      const completed = await statusAfter([runEnd("four")]);
      assert.equal(completed?.status, "completed");
      assert.equal(completed?.answer, "four");
      assert.equal(completed?.error, null);
      assert.equal(completed?.lastSeq, 6);
      assert.ok(completed!.updatedAt.getTime() >= before.getTime());

      const failing = await leasedRun(store);
      await store.append({
        lease: failing,
        events: [
          stepStart(1),
          {
            type: "run-end",
            payload: {
              status: "failed",
              error: { code: "tool_failed", message: "boom", retryable: false },
              steps: 1,
            },
          },
        ],
      });
      const failed = await store.getRun(failing.runId);
      assert.equal(failed?.status, "failed");
      assert.equal(failed?.answer, null);
      assert.deepEqual(failed?.error, { code: "tool_failed", message: "boom" });
    });

    test("rejects appends to an ended run with conflict and writes nothing", async () => {
      const { store } = context;
      const lease = await leasedRun(store);
      await store.append({ lease, events: [runEnd()] });
      await rejectsWithCode(store.append({ lease, events: [stepStart(2)] }), "conflict");
      await rejectsWithCode(store.append({ lease, events: [runEnd("again")] }), "conflict");
      assert.equal((await store.readEvents({ runId: lease.runId })).length, 2);
      assert.equal((await store.getRun(lease.runId))?.answer, "done");
    });

    test("rejects an append with events after its own run-end and writes none of it", async () => {
      const { store } = context;
      const lease = await leasedRun(store);
      await rejectsWithCode(store.append({ lease, events: [runEnd(), stepStart(2)] }), "conflict");
      await rejectsWithCode(
        store.append({
          lease,
          events: [
            {
              type: "run-start",
              payload: (await store.readEvents({ runId: lease.runId }))[0]!.payload,
            } as NewEvent,
          ],
        }),
        "invalid_request",
      );
      assert.equal((await store.readEvents({ runId: lease.runId })).length, 1);
      assert.equal((await store.getRun(lease.runId))?.status, "running");
    });

    test("refuses an invalid payload alone while the rest of its group commit is written", async () => {
      const { store } = context;
      const lease = await leasedRun(store);
      const results = await Promise.allSettled([
        store.append({ lease, events: [stepStart(1)] }),
        store.append({ lease, events: [{ type: "step-start", payload: { step: 0, node: "x" } }] }),
        store.append({
          lease,
          events: [{ type: "run-suspend", payload: { reason: "nul \u0000 is not storable in jsonb" } }],
        }),
        store.append({ lease, events: [modelCallStart(1)] }),
        store.append({
          lease,
          events: [{ type: "run-suspend", payload: { reason: "lone \ud800 surrogate" } }],
        }),
      ]);
      assert.deepEqual(
        results.map((result) => result.status),
        ["fulfilled", "rejected", "rejected", "fulfilled", "rejected"],
      );
      await rejectsWithCode(Promise.reject((results[1] as PromiseRejectedResult).reason), "invalid_request");
      await rejectsWithCode(Promise.reject((results[2] as PromiseRejectedResult).reason), "invalid_request");
      await rejectsWithCode(Promise.reject((results[4] as PromiseRejectedResult).reason), "invalid_request");
      assert.equal(verifyChain(await store.readEvents({ runId: lease.runId })).events, 3);
    });

    test("rejects an append to a run that does not exist with not_found", async () => {
      const lease = { runId: uniqueName("run"), owner: "w", token: 1, expiresAt: new Date() };
      await rejectsWithCode(context.store.append({ lease, events: [stepStart(1)] }), "not_found");
    });

    test("commits concurrent appends in fewer transactions than appends (group commit)", async () => {
      const { store } = context;
      const leases = await Promise.all(Array.from({ length: 30 }, async () => await leasedRun(store)));
      const before = store.stats;
      const appended = await Promise.all(
        leases.flatMap((lease) => [
          store.append({ lease, events: [stepStart(1), modelCallStart(1)] }),
          store.append({ lease, events: [stepStart(2)] }),
        ]),
      );
      const after = store.stats;
      assert.equal(after.requests - before.requests, 60);
      assert.equal(after.events - before.events, 90);
      assert.ok(
        after.commits - before.commits < 60,
        `expected batching, got ${after.commits - before.commits} commits`,
      );
      assert.ok(after.commits - before.commits <= 3, `one tick should need about one commit`);
      for (const lease of leases) {
        const events = await store.readEvents({ runId: lease.runId });
        assert.deepEqual(
          events.map((event) => event.type),
          ["run-start", "step-start", "model-call-start", "step-start"],
        );
        assert.equal(verifyChain(events).ok, true);
      }
      assert.equal(appended.flat().length, 90);
    });

    test("rejects only the stale request of a group commit and commits the others", async () => {
      const { store } = context;
      const good = await leasedRun(store);
      const other = await leasedRun(store);
      const stale = { ...other, token: other.token + 7 };
      const results = await Promise.allSettled([
        store.append({ lease: good, events: [stepStart(1)] }),
        store.append({ lease: stale, events: [stepStart(1)] }),
        store.append({ lease: other, events: [stepStart(1)] }),
      ]);
      assert.deepEqual(
        results.map((result) => result.status),
        ["fulfilled", "rejected", "fulfilled"],
      );
      await rejectsWithCode(Promise.reject((results[1] as PromiseRejectedResult).reason), "stale_lease");
      assert.equal((await store.readEvents({ runId: other.runId })).length, 2);
    });

    waitsContract(context);
  });
}

function waitsContract(context: StoreContractContext): void {
  test("waitForEvents wakes when an event is appended, on this store and on a peer of the same database", async () => {
    const { store, peer } = context;
    for (const waiter of [store, peer]) {
      const lease = await leasedRun(store);
      const started = Date.now();
      const waiting = waiter.waitForEvents({ runId: lease.runId, afterSeq: 1, timeoutMs: 10_000 });
      setTimeout(() => void store.append({ lease, events: [stepStart(1)] }), 20);
      await waiting;
      assert.ok(Date.now() - started < 5_000, `${waiter.kind} waiter woke after ${Date.now() - started} ms`);
    }
  });

  test("an append sends NOTIFY only while another store listens, and that store is woken by it", async () => {
    const store = await context.openEmpty();
    await store.migrate();
    const lease = await leasedRun(store);
    // The writer listens itself, but its own waiters are woken in process: nobody else would hear a NOTIFY.
    await store.waitForEvents({ runId: lease.runId, afterSeq: 1, timeoutMs: 1 });
    const heard = store.notificationsHeard;
    await store.append({ lease, events: [stepStart(1)] });
    await sleep(100);
    assert.equal(store.notificationsHeard, heard, "a NOTIFY was sent with no other listener");
    const peer = await context.openPeer(store);
    // Its first wait subscribes and registers it; the one after is woken only by the append.
    await peer.waitForEvents({ runId: lease.runId, afterSeq: 2, timeoutMs: 1 });
    const started = Date.now();
    const waiting = peer.waitForEvents({ runId: lease.runId, afterSeq: 2, timeoutMs: 10_000 });
    await sleep(50);
    await store.append({ lease, events: [stepStart(2)] });
    await waiting;
    assert.ok(Date.now() - started < 5_000, `the listening peer waited ${Date.now() - started} ms`);
    assert.ok(peer.notificationsHeard > 0, "the peer was woken by a NOTIFY");
  });

  test("waitForEvents resolves at once when the run already has events after afterSeq", async () => {
    const lease = await leasedRun(context.store);
    const started = Date.now();
    await context.store.waitForEvents({ runId: lease.runId, afterSeq: 0, timeoutMs: 10_000 });
    assert.ok(Date.now() - started < 5_000);
  });

  test("waitForEvents resolves on timeout and on abort, and leaves no listeners behind", async () => {
    const { store } = context;
    const lease = await leasedRun(store);
    const started = Date.now();
    await store.waitForEvents({ runId: lease.runId, afterSeq: 1, timeoutMs: 50 });
    assert.ok(Date.now() - started >= 45);

    const controller = new AbortController();
    const aborted = store.waitForEvents({
      runId: lease.runId,
      afterSeq: 1,
      timeoutMs: 60_000,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 20);
    await aborted;

    const shared = new AbortController();
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        await store.waitForEvents({ runId: lease.runId, afterSeq: 1, timeoutMs: 5, signal: shared.signal });
        await store.waitForWork({ timeoutMs: 5, signal: shared.signal });
      }),
    );
    assert.equal(getEventListeners(shared.signal, "abort").length, 0);
    assert.equal(store.pendingWaits, 0);
  });

  test("waitForEvents on a run that does not exist rejects with not_found", async () => {
    await rejectsWithCode(
      context.store.waitForEvents({ runId: uniqueName("run"), afterSeq: 0, timeoutMs: 1_000 }),
      "not_found",
    );
    assert.equal(context.store.pendingWaits, 0);
  });

  test("waitForWork wakes on a new run, a cancel request and a released lease, also on a peer", async () => {
    const { store, peer } = context;
    // Each trigger is prepared before the wait starts, so only the trigger itself can wake the waiter.
    const triggers: Array<() => Promise<() => Promise<unknown>>> = [
      async () => async () => await createQueuedRun(store),
      async () => {
        const run = await createQueuedRun(store);
        return async () => await store.requestCancel(run.runId, { by: "user:ada" });
      },
      async () => {
        const run = await createQueuedRun(store);
        const lease = await store.acquireLease({ runId: run.runId, owner: "w", ttlMs: 30_000 });
        return async () => await store.releaseLease(lease!);
      },
    ];
    for (const prepare of triggers) {
      for (const waiter of [store, peer]) {
        const trigger = await prepare();
        await sleep(20);
        const started = Date.now();
        const waiting = waiter.waitForWork({ timeoutMs: 10_000 });
        await sleep(20);
        await trigger();
        await waiting;
        assert.ok(Date.now() - started < 5_000, `${waiter.kind} waited ${Date.now() - started} ms`);
      }
    }
  });
}
