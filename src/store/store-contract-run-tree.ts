import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isEvent, type PayloadOf } from "../journal/index.ts";
import type { RunTreeNode } from "./run-tree-store.ts";
import type { SqlStore } from "./sql-store.ts";
import type { RunRecord } from "./store.ts";
import {
  createQueuedRun,
  rejectsWithCode,
  runEnd,
  runStart,
  type StoreContractContext,
  sleep,
  stepStart,
  uniqueName,
} from "./store-contract-fixtures.ts";

/** Create a queued child of `parent`, started by its node `node`. */
async function createChild(
  store: SqlStore,
  parent: RunRecord,
  node: string,
  start: PayloadOf<"run-start"> = runStart(uniqueName("agent")),
): Promise<RunRecord> {
  const { run } = await store.createRun({
    runId: uniqueName("run"),
    start,
    parent: { runId: parent.runId, node },
  });
  return run;
}

/** End a run as completed under a fresh lease. */
async function endRun(store: SqlStore, run: RunRecord): Promise<void> {
  const lease = await store.acquireLease({ runId: run.runId, owner: "w", ttlMs: 10_000 });
  await store.append({ lease: lease!, events: [runEnd()] });
}

/** Suspend a run until `until` (and for the signals named), then give its lease up, as a worker would. */
async function suspendUntil(store: SqlStore, run: RunRecord, until: Date): Promise<void> {
  const lease = await store.acquireLease({ runId: run.runId, owner: "w", ttlMs: 10_000 });
  await store.append({
    lease: lease!,
    events: [
      stepStart(1),
      { type: "run-suspend", payload: { reason: "wait", wait: { until: until.toISOString() } } },
    ],
  });
  await store.releaseLease(lease!);
}

function ids(nodes: readonly RunTreeNode[]): string[] {
  return nodes.map((node) => node.run.runId);
}

/** Contract tests for child runs, run trees, cancelling a tree, and durable timers. */
export function runTreeContract(context: StoreContractContext): void {
  describe("run trees", () => {
    test("creates a child run that names its parent, the parent's node and the tree's root, on the row and in run-start", async () => {
      const { store } = context;
      const top = await createQueuedRun(store);
      const child = await createChild(store, top, "checks");
      const grandchild = await createChild(store, child, "sanctions");
      assert.equal(top.parentRunId, null);
      assert.equal(top.rootRunId, top.runId);
      assert.deepEqual(
        [child.parentRunId, child.parentNode, child.rootRunId],
        [top.runId, "checks", top.runId],
      );
      assert.deepEqual(
        [grandchild.parentRunId, grandchild.parentNode, grandchild.rootRunId],
        [child.runId, "sanctions", top.runId],
      );
      const [start] = await store.readEvents({ runId: grandchild.runId });
      assert.ok(start && isEvent(start, "run-start"));
      assert.deepEqual(start.payload.parent, { runId: child.runId, node: "sanctions", rootRunId: top.runId });
      const reread = await store.getRun(grandchild.runId);
      assert.equal(reread?.rootRunId, top.runId);
    });

    test("refuses a child of an unknown run, of another tenant's run, of an ended run, and a run-start that names its own parent", async () => {
      const { store } = context;
      const missing = uniqueName("run");
      await rejectsWithCode(
        store.createRun({
          runId: uniqueName("run"),
          start: runStart("a"),
          parent: { runId: missing, node: "n" },
        }),
        "not_found",
      );
      const top = await createQueuedRun(store);
      const otherTenant = {
        ...runStart("a"),
        principal: { subject: "user:eve", tenant: "other", roles: [] },
      };
      const refused = uniqueName("run");
      await rejectsWithCode(
        store.createRun({ runId: refused, start: otherTenant, parent: { runId: top.runId, node: "n" } }),
        "forbidden",
      );
      assert.equal(await store.getRun(refused), null);
      await rejectsWithCode(
        store.createRun({
          runId: uniqueName("run"),
          start: { ...runStart("a"), parent: { runId: top.runId, node: "n", rootRunId: top.runId } },
        }),
        "invalid_request",
      );
      await endRun(store, top);
      await rejectsWithCode(createChild(store, top, "late"), "conflict");
      assert.deepEqual(await store.listChildren({ runId: top.runId }), []);
    });

    test("lists a run's children oldest first, a page at a time", async () => {
      const { store } = context;
      const top = await createQueuedRun(store);
      const children: RunRecord[] = [];
      for (let index = 0; index < 5; index += 1) {
        children.push(await createChild(store, top, `map.${index}`));
        await sleep(2);
      }
      await createChild(store, children[0]!, "inner");
      const first = await store.listChildren({ runId: top.runId, limit: 2 });
      const second = await store.listChildren({ runId: top.runId, limit: 2, after: first.at(-1)!.runId });
      const third = await store.listChildren({ runId: top.runId, limit: 2, after: second.at(-1)!.runId });
      assert.deepEqual(
        [...first, ...second, ...third].map((run) => run.runId),
        children.map((run) => run.runId),
      );
      assert.equal(third.length, 1);
      await rejectsWithCode(store.listChildren({ runId: top.runId, limit: 0 }), "invalid_request");
    });

    test("reads a run's descendants as a tree, and says where a bound on depth or children left some out", async () => {
      const { store } = context;
      const top = await createQueuedRun(store);
      const a = await createChild(store, top, "a");
      await sleep(2);
      const b = await createChild(store, top, "b");
      const a1 = await createChild(store, a, "a.1");
      const a1x = await createChild(store, a1, "a.1.x");
      const unrelated = await createQueuedRun(store);

      const tree = await store.getRunTree({ runId: top.runId });
      assert.ok(tree);
      assert.equal(tree.runs, 5);
      assert.equal(tree.truncated, false);
      assert.equal(tree.root.run.runId, top.runId);
      assert.deepEqual(ids(tree.root.children), [a.runId, b.runId]);
      assert.deepEqual(ids(tree.root.children[0]!.children), [a1.runId]);
      assert.deepEqual(ids(tree.root.children[0]!.children[0]!.children), [a1x.runId]);
      assert.deepEqual(tree.root.children[1]!.children, []);
      assert.ok(!JSON.stringify(tree).includes(unrelated.runId));

      const subtree = await store.getRunTree({ runId: a.runId });
      assert.equal(subtree?.root.run.runId, a.runId);
      assert.equal(subtree?.runs, 3);

      const shallow = await store.getRunTree({ runId: top.runId, maxDepth: 1 });
      assert.equal(shallow?.runs, 3);
      assert.equal(shallow?.truncated, true);
      const narrow = await store.getRunTree({ runId: top.runId, maxChildren: 1 });
      assert.deepEqual(ids(narrow!.root.children), [a.runId]);
      assert.equal(narrow?.root.moreChildren, true);
      assert.equal(narrow?.truncated, true);
      const few = await store.getRunTree({ runId: top.runId, maxRuns: 2 });
      assert.equal(few?.runs, 2);
      assert.equal(few?.truncated, true);

      assert.equal(await store.getRunTree({ runId: uniqueName("run") }), null);
      await rejectsWithCode(store.getRunTree({ runId: top.runId, maxDepth: 65 }), "invalid_request");
    });

    test("a cancel reaches every descendant that has not ended, through ended ones, and leaves the ended as they were", async () => {
      const { store } = context;
      const top = await createQueuedRun(store);
      const done = await createChild(store, top, "done");
      const underDone = await createChild(store, done, "inner");
      await endRun(store, done);
      const live = await createChild(store, top, "live");
      const deep = await createChild(store, await createChild(store, live, "l1"), "l2");
      await suspendUntil(store, deep, new Date(Date.now() + 60_000));
      const unrelated = await createQueuedRun(store);

      const result = await store.cancelTree(top.runId, { by: "user:ada" });
      assert.ok(result);
      assert.equal(result.run.cancelRequested, true);
      assert.equal(result.marked.length, 5);
      for (const run of [top, underDone, live, deep]) {
        assert.equal((await store.getRun(run.runId))?.cancelRequested, true, run.runId);
      }
      const ended = await store.getRun(done.runId);
      assert.deepEqual([ended?.status, ended?.cancelRequested], ["completed", false]);
      assert.equal((await store.getRun(unrelated.runId))?.cancelRequested, false);
      // The suspended descendant is now claimable so a worker ends it.
      const claimed = await store.claimRuns({ owner: "w2", ttlMs: 10_000, limit: 1_000 });
      assert.ok(claimed.some((lease) => lease.runId === deep.runId));
      assert.equal(
        (await store.cancelTree(top.runId, { by: "user:ada" }))?.marked.length,
        1,
        "only the run itself is marked again",
      );
      assert.equal(await store.cancelTree(uniqueName("run"), { by: "user:ada" }), null);
    });

    test("a child created after its parent's cancel is created already marked for cancellation", async () => {
      const { store } = context;
      const top = await createQueuedRun(store);
      const child = await createChild(store, top, "a");
      await store.requestCancel(top.runId, { by: "user:ada" });
      const late = await createChild(store, child, "late");
      assert.equal(late.cancelRequested, true);
    });

    test("a cancel records who requested it and why on the run, on each descendant it marks, and on a child created after it", async () => {
      const { store } = context;
      const top = await createQueuedRun(store);
      const child = await createChild(store, top, "a");
      const grandchild = await createChild(store, child, "b");
      const unrelated = await createQueuedRun(store);
      assert.equal(top.cancelRequest, null);

      const result = await store.cancelTree(child.runId, { by: "user:ada", reason: "wrong input" });
      assert.deepEqual(result?.run.cancelRequest, { by: "user:ada", reason: "wrong input" });
      const reached = { by: "user:ada", reason: `the cancel of run ${child.runId} reached it: wrong input` };
      assert.deepEqual((await store.getRun(grandchild.runId))?.cancelRequest, reached);
      const late = await createChild(store, grandchild, "late");
      assert.deepEqual(late.cancelRequest, reached);
      // The cancel reached down, not up; and a second cancel of a marked run keeps the first requester.
      assert.equal((await store.getRun(top.runId))?.cancelRequest, null);
      await store.cancelTree(top.runId, { by: "user:bob" });
      assert.deepEqual((await store.getRun(top.runId))?.cancelRequest, { by: "user:bob" });
      assert.deepEqual((await store.getRun(child.runId))?.cancelRequest, {
        by: "user:ada",
        reason: "wrong input",
      });
      assert.equal((await store.getRun(unrelated.runId))?.cancelRequest, null);
      await rejectsWithCode(store.cancelTree(unrelated.runId, { by: "" }), "invalid_request");
      assert.equal((await store.getRun(unrelated.runId))?.cancelRequested, false);
    });

    test("no child escapes a cancel that races with its creation, across two stores and 20 trees", async () => {
      const { store, peer } = context;
      for (let trial = 0; trial < 20; trial += 1) {
        const top = await createQueuedRun(store);
        const middle = await createChild(store, top, "m");
        const created = await Promise.all([
          ...Array.from(
            { length: 12 },
            async (_, index) =>
              (await createChild(index % 2 === 0 ? store : peer, index % 3 === 0 ? top : middle, `n${index}`))
                .runId,
          ),
          (async () => {
            await sleep(trial % 4);
            await (trial % 2 === 0 ? peer : store).requestCancel(top.runId, { by: "user:ada" });
            return null;
          })(),
        ]);
        for (const runId of created) {
          if (runId === null) continue;
          assert.equal((await store.getRun(runId))?.cancelRequested, true, `trial ${trial}: ${runId}`);
        }
      }
    });
  });

  describe("waking a parent on its children", () => {
    /** Suspend a run on its children (`seen` child ends journaled), then give its lease up. */
    async function suspendOnChildren(store: SqlStore, run: RunRecord, seen: number, until?: Date) {
      const lease = await store.acquireLease({ runId: run.runId, owner: "w", ttlMs: 10_000 });
      await store.append({
        lease: lease!,
        events: [
          stepStart(1),
          {
            type: "run-suspend",
            payload: {
              reason: "children",
              wait: { children: seen, ...(until ? { until: until.toISOString() } : {}) },
            },
          },
        ],
      });
      await store.releaseLease(lease!);
    }

    test("a parent suspended on its children is claimed once one ends, resumed for the child's end and not a timer", async () => {
      const { store, peer } = context;
      const agent = uniqueName("agent");
      const parent = await createQueuedRun(store, agent);
      const first = await createChild(store, parent, "fan");
      const second = await createChild(store, parent, "fan");
      await suspendOnChildren(store, parent, 0, new Date(Date.now() + 3_600_000));
      assert.deepEqual(
        await store.claimRuns({ owner: "early", ttlMs: 10_000, limit: 10, agents: [agent] }),
        [],
      );
      // Ended through the other store: the wake is in the database, not in this process.
      await endRun(peer, first);
      const [lease, ...others] = await store.claimRuns({
        owner: "woken",
        ttlMs: 10_000,
        limit: 10,
        agents: [agent],
      });
      assert.equal(lease?.runId, parent.runId);
      assert.deepEqual(others, []);
      const events = await store.readEvents({ runId: parent.runId });
      assert.equal(events.at(-1)?.type, "run-resume");
      assert.ok(isEvent(events.at(-1)!, "run-resume"));
      assert.equal(
        events.some((event) => event.type === "timer-fire"),
        false,
      );
      const resumed = await store.getRun(parent.runId);
      assert.deepEqual([resumed?.status, resumed?.wakeAt], ["running", null]);

      // Suspended again having journaled the first end: only the second child's end wakes it.
      const held = lease!;
      await store.append({
        lease: held,
        events: [{ type: "run-suspend", payload: { reason: "children", wait: { children: 1 } } }],
      });
      await store.releaseLease(held);
      assert.deepEqual(
        await store.claimRuns({ owner: "idle", ttlMs: 10_000, limit: 10, agents: [agent] }),
        [],
      );
      await endRun(store, second);
      const again = await store.claimRuns({ owner: "again", ttlMs: 10_000, limit: 10, agents: [agent] });
      assert.deepEqual(
        again.map((each) => each.runId),
        [parent.runId],
      );
    });

    test("a child resumed by a decision that keeps its lease (an approval) still wakes its parent when it ends", async () => {
      const { store } = context;
      const agent = uniqueName("agent");
      const parent = await createQueuedRun(store, agent);
      const child = await createChild(store, parent, "review", runStart(uniqueName("agent")));
      await suspendOnChildren(store, parent, 0);
      await suspendUntil(store, child, new Date(Date.now() + 3_600_000));
      const decided = await store.journalTransaction({
        runId: child.runId,
        owner: "approver",
        ttlMs: 10_000,
        release: false,
        decide: () => ({
          events: [{ type: "run-resume", payload: { reason: "approved", worker: "approver" } }],
          result: null,
        }),
      });
      assert.ok(decided);
      // The holder of the kept lease writes with the head the decision committed; the child's end still counts.
      await store.append({ lease: decided.lease, events: [runEnd()] });
      const woken = await store.claimRuns({ owner: "woken", ttlMs: 10_000, limit: 10, agents: [agent] });
      assert.deepEqual(
        woken.map((lease) => lease.runId),
        [parent.runId],
      );
    });

    test("a child that ended before its parent suspended wakes the parent at once; a wait on other things is not woken", async () => {
      const { store } = context;
      const agent = uniqueName("agent");
      const parent = await createQueuedRun(store, agent);
      const child = await createChild(store, parent, "fan");
      await endRun(store, child);
      await suspendOnChildren(store, parent, 0);
      const [lease] = await store.claimRuns({ owner: "w", ttlMs: 10_000, limit: 10, agents: [agent] });
      assert.equal(lease?.runId, parent.runId);
      const last = (await store.readEvents({ runId: parent.runId })).at(-1)!;
      assert.ok(isEvent(last, "run-resume"));
      assert.equal(last.payload.reason, "a child run ended");
      await store.releaseLease(lease!);

      const other = await createQueuedRun(store, agent);
      const late = await createChild(store, other, "fan");
      await suspendUntil(store, other, new Date(Date.now() + 3_600_000));
      await endRun(store, late);
      const none = await store.claimRuns({ owner: "w", ttlMs: 10_000, limit: 10, agents: [agent] });
      assert.deepEqual(
        none.map((each) => each.runId).filter((runId) => runId === other.runId),
        [],
        "a run waiting on a timer alone is not woken by a child's end",
      );
    });
  });

  describe("durable timers", () => {
    test("a run suspended until a time is claimed once the database clock passes it, not before, and resumes once", async () => {
      const { store } = context;
      const agent = uniqueName("agent");
      const run = await createQueuedRun(store, agent);
      const until = new Date(Date.now() + 300);
      await suspendUntil(store, run, until);
      const suspended = await store.getRun(run.runId);
      assert.equal(suspended?.status, "suspended");
      assert.equal(suspended?.wakeAt?.toISOString(), until.toISOString());
      assert.deepEqual(
        await store.claimRuns({ owner: "early", ttlMs: 10_000, limit: 10, agents: [agent] }),
        [],
      );

      await sleep(Math.max(0, until.getTime() - Date.now()) + 50);
      const [lease, ...others] = await store.claimRuns({
        owner: "late",
        ttlMs: 10_000,
        limit: 10,
        agents: [agent],
      });
      assert.equal(lease?.runId, run.runId);
      assert.deepEqual(others, []);
      const events = await store.readEvents({ runId: run.runId });
      assert.deepEqual(
        events.slice(-2).map((event) => event.type),
        ["timer-fire", "run-resume"],
      );
      const fired = events.at(-2);
      assert.ok(fired && isEvent(fired, "timer-fire"));
      assert.equal(fired.payload.dueAt, until.toISOString());
      assert.ok(Date.parse(fired.at) >= until.getTime());
      const resumed = await store.getRun(run.runId);
      assert.deepEqual([resumed?.status, resumed?.wakeAt], ["running", null]);

      await store.releaseLease(lease!);
      const again = await store.claimRuns({ owner: "again", ttlMs: 10_000, limit: 10, agents: [agent] });
      assert.equal(again.length, 1, "a running run is claimable as any other");
      const after = await store.readEvents({ runId: run.runId });
      assert.equal(after.filter((event) => event.type === "timer-fire").length, 1);
    });

    test("a due timer fires exactly once when many claims from two stores race for it", async () => {
      const { store, peer } = context;
      const agent = uniqueName("agent");
      const runs = await Promise.all(
        Array.from({ length: 10 }, async () => await createQueuedRun(store, agent)),
      );
      const until = new Date(Date.now() + 100);
      for (const run of runs) await suspendUntil(store, run, until);
      await sleep(Math.max(0, until.getTime() - Date.now()) + 30);
      const claims = await Promise.all(
        Array.from({ length: 8 }, async (_, index) =>
          (index % 2 === 0 ? store : peer).claimRuns({
            owner: `w${index}`,
            ttlMs: 10_000,
            limit: 3,
            agents: [agent],
          }),
        ),
      );
      const claimed = claims.flat().map((lease) => lease.runId);
      assert.equal(new Set(claimed).size, claimed.length, "no run is handed to two claims");
      assert.equal(claimed.length, runs.length);
      for (const run of runs) {
        const events = await store.readEvents({ runId: run.runId });
        assert.equal(events.filter((event) => event.type === "timer-fire").length, 1, run.runId);
      }
    });

    test("a suspend without a time starts no timer, and leaving suspended some other way clears one", async () => {
      const { store } = context;
      const agent = uniqueName("agent");
      const run = await createQueuedRun(store, agent);
      await suspendUntil(store, run, new Date(Date.now() + 50));
      const lease = await store.acquireLease({ runId: run.runId, owner: "w", ttlMs: 10_000 });
      await store.append({
        lease: lease!,
        events: [
          { type: "run-resume", payload: { reason: "signal go", worker: "w" } },
          { type: "run-suspend", payload: { reason: "wait", wait: { signals: ["go"] } } },
        ],
      });
      await store.releaseLease(lease!);
      const waiting = await store.getRun(run.runId);
      assert.deepEqual([waiting?.status, waiting?.wakeAt], ["suspended", null]);
      await sleep(80);
      assert.deepEqual(await store.claimRuns({ owner: "w", ttlMs: 10_000, limit: 10, agents: [agent] }), []);
    });

    test("refuses a wait that names neither signals nor a time, or a time that is not ISO 8601", async () => {
      const { store } = context;
      const run = await createQueuedRun(store);
      const lease = await store.acquireLease({ runId: run.runId, owner: "w", ttlMs: 10_000 });
      await rejectsWithCode(
        store.append({
          lease: lease!,
          events: [{ type: "run-suspend", payload: { reason: "x", wait: {} } }],
        }),
        "invalid_request",
      );
      await rejectsWithCode(
        store.append({
          lease: lease!,
          events: [{ type: "run-suspend", payload: { reason: "x", wait: { until: "tomorrow" } } }],
        }),
        "invalid_request",
      );
      assert.equal((await store.getRun(run.runId))?.lastSeq, 1);
    });
  });
}
