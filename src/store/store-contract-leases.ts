import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { verifyChain } from "../journal/index.ts";
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

/** Contract tests for leases, fencing tokens and claiming runs (invariant 3). */
export function leasesContract(context: StoreContractContext): void {
  describe("leases", () => {
    test("grants a lease only while no live lease exists, with a token that grows on every grant", async () => {
      const { store, peer } = context;
      const run = await createQueuedRun(store);
      const first = await store.acquireLease({ runId: run.runId, owner: "a", ttlMs: 30_000 });
      assert.ok(first);
      assert.equal(first.runId, run.runId);
      assert.equal(first.owner, "a");
      assert.equal(first.token, 1);
      assert.ok(first.expiresAt.getTime() > Date.now() + 20_000);
      assert.equal(await peer.acquireLease({ runId: run.runId, owner: "b", ttlMs: 30_000 }), null);
      assert.equal(await store.acquireLease({ runId: run.runId, owner: "a", ttlMs: 30_000 }), null);
      await store.releaseLease(first);
      const second = await peer.acquireLease({ runId: run.runId, owner: "b", ttlMs: 30_000 });
      assert.equal(second?.token, 2);
    });

    test("acquireLease returns null for an ended run and rejects an unknown run with not_found", async () => {
      const { store } = context;
      const run = await createQueuedRun(store);
      const lease = await store.acquireLease({ runId: run.runId, owner: "a", ttlMs: 30_000 });
      await store.append({ lease: lease!, events: [runEnd()] });
      await store.releaseLease(lease!);
      assert.equal(await store.acquireLease({ runId: run.runId, owner: "a", ttlMs: 30_000 }), null);
      await rejectsWithCode(
        store.acquireLease({ runId: uniqueName("run"), owner: "a", ttlMs: 1_000 }),
        "not_found",
      );
    });

    test("renews a lease only with its current token", async () => {
      const { store } = context;
      const run = await createQueuedRun(store);
      const lease = await store.acquireLease({ runId: run.runId, owner: "a", ttlMs: 1_000 });
      const renewed = await store.renewLease({ lease: lease!, ttlMs: 60_000 });
      assert.equal(renewed?.token, lease!.token);
      assert.ok(renewed!.expiresAt.getTime() > lease!.expiresAt.getTime());
      assert.equal(
        await store.renewLease({ lease: { ...lease!, token: lease!.token + 1 }, ttlMs: 1_000 }),
        null,
      );
      await store.releaseLease(renewed!);
      assert.equal(
        await store.renewLease({ lease: renewed!, ttlMs: 1_000 }),
        null,
        "a released lease is lost",
      );
    });

    test("fences a released lease: its holder can no longer append", async () => {
      const { store } = context;
      const run = await createQueuedRun(store);
      const lease = await store.acquireLease({ runId: run.runId, owner: "a", ttlMs: 30_000 });
      await store.releaseLease(lease!);
      await rejectsWithCode(store.append({ lease: lease!, events: [stepStart(1)] }), "stale_lease");
      assert.equal((await store.readEvents({ runId: run.runId })).length, 1);
    });

    test("rejects an append with a stale token in the store and writes nothing of it", async () => {
      const { store, peer } = context;
      const run = await createQueuedRun(store);
      const old = await store.acquireLease({ runId: run.runId, owner: "a", ttlMs: 40 });
      await store.append({ lease: old!, events: [stepStart(1)] });
      await sleep(80);
      const taken = await peer.acquireLease({ runId: run.runId, owner: "b", ttlMs: 30_000 });
      assert.equal(taken?.token, old!.token + 1);
      await rejectsWithCode(
        store.append({ lease: old!, events: [modelCallStart(1), stepStart(2)] }),
        "stale_lease",
      );
      await rejectsWithCode(
        store.append({ lease: { ...taken!, token: taken!.token + 1 }, events: [stepStart(2)] }),
        "stale_lease",
      );
      assert.equal(await store.renewLease({ lease: old!, ttlMs: 30_000 }), null);
      assert.equal((await store.readEvents({ runId: run.runId })).length, 2);
      await peer.append({ lease: taken!, events: [stepStart(2)] });
      const events = await store.readEvents({ runId: run.runId });
      assert.equal(events.length, 3);
      assert.equal(verifyChain(events).ok, true);
    });

    test("claimRuns takes over a run whose lease expired and the old holder's append is rejected", async () => {
      const { store, peer } = context;
      const agent = uniqueName("agent");
      const run = await createQueuedRun(store, agent);
      // Long enough that a busy machine cannot expire it before the peer's first (refused) claim.
      const [old] = await store.claimRuns({ owner: "a", ttlMs: 1_000, limit: 5, agents: [agent] });
      assert.equal(old?.runId, run.runId);
      await store.append({ lease: old!, events: [stepStart(1)] });
      assert.deepEqual(await peer.claimRuns({ owner: "b", ttlMs: 30_000, limit: 5, agents: [agent] }), []);
      await sleep(1_100);
      const [taken] = await peer.claimRuns({ owner: "b", ttlMs: 30_000, limit: 5, agents: [agent] });
      assert.equal(taken?.runId, run.runId);
      assert.equal(taken?.token, old!.token + 1);
      await rejectsWithCode(store.append({ lease: old!, events: [modelCallStart(1)] }), "stale_lease");
      await peer.append({ lease: taken!, events: [stepStart(1)] });
      assert.equal(verifyChain(await store.readEvents({ runId: run.runId })).events, 3);
    });

    test("claimRuns takes queued runs, running runs without a live lease and suspended runs with a cancel request, oldest first", async () => {
      const { store } = context;
      const agent = uniqueName("agent");
      const lease = async (runId: string) =>
        (await store.acquireLease({ runId, owner: "setup", ttlMs: 30_000 }))!;
      const queued = await createQueuedRun(store, agent);
      const held = await createQueuedRun(store, agent);
      await lease(held.runId);
      const orphaned = await createQueuedRun(store, agent);
      const orphanLease = await lease(orphaned.runId);
      await store.append({ lease: orphanLease, events: [stepStart(1)] });
      await store.releaseLease(orphanLease);
      const suspended = await createQueuedRun(store, agent);
      const suspendedLease = await lease(suspended.runId);
      await store.append({
        lease: suspendedLease,
        events: [{ type: "run-suspend", payload: { reason: "approval" } }],
      });
      await store.releaseLease(suspendedLease);
      const cancelled = await createQueuedRun(store, agent);
      const cancelledLease = await lease(cancelled.runId);
      await store.append({
        lease: cancelledLease,
        events: [{ type: "run-suspend", payload: { reason: "timer" } }],
      });
      await store.releaseLease(cancelledLease);
      await store.requestCancel(cancelled.runId, { by: "user:ada" });
      const ended = await createQueuedRun(store, agent);
      const endedLease = await lease(ended.runId);
      await store.append({ lease: endedLease, events: [runEnd()] });
      await store.releaseLease(endedLease);
      await createQueuedRun(store, uniqueName("other-agent"));

      const claimed = await store.claimRuns({ owner: "w", ttlMs: 30_000, limit: 10, agents: [agent] });
      assert.deepEqual(
        claimed.map((each) => each.runId),
        [queued.runId, orphaned.runId, cancelled.runId],
      );
      assert.ok(claimed.every((each) => each.owner === "w" && each.expiresAt.getTime() > Date.now()));
      assert.deepEqual(await store.claimRuns({ owner: "w", ttlMs: 30_000, limit: 10, agents: [agent] }), []);
    });

    test("claimRuns honours its limit and its agents filter", async () => {
      const { store } = context;
      const agent = uniqueName("agent");
      for (let index = 0; index < 3; index += 1) await createQueuedRun(store, agent);
      assert.equal(
        (await store.claimRuns({ owner: "w", ttlMs: 30_000, limit: 2, agents: [agent] })).length,
        2,
      );
      assert.equal(
        (await store.claimRuns({ owner: "w", ttlMs: 30_000, limit: 0, agents: [agent] })).length,
        0,
      );
      assert.equal((await store.claimRuns({ owner: "w", ttlMs: 30_000, limit: 5, agents: [] })).length, 0);
      assert.equal(
        (await store.claimRuns({ owner: "w", ttlMs: 30_000, limit: 5, agents: [agent] })).length,
        1,
      );
    });

    test("concurrent claimers on two stores never receive the same run", async () => {
      const { store, peer } = context;
      const agent = uniqueName("agent");
      const runs = await Promise.all(
        Array.from({ length: 40 }, async () => await createQueuedRun(store, agent)),
      );
      const claimer = async (index: number): Promise<Lease[]> => {
        const mine: Lease[] = [];
        const from = index % 2 === 0 ? store : peer;
        for (;;) {
          const batch = await from.claimRuns({
            owner: `w${index}`,
            ttlMs: 30_000,
            limit: 3,
            agents: [agent],
          });
          if (batch.length === 0) return mine;
          mine.push(...batch);
        }
      };
      const claims = (await Promise.all([0, 1, 2, 3, 4, 5].map(claimer))).flat();
      assert.equal(claims.length, runs.length);
      assert.equal(new Set(claims.map((lease) => lease.runId)).size, runs.length);
      assert.ok(claims.every((lease) => lease.token === 1));
    });
  });
}
