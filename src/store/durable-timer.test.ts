import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { openStore } from "./open-store.ts";
import type { SqlStore } from "./sql-store.ts";
import { runStart, sleep, stepStart, uniqueName } from "./store-contract-fixtures.ts";

const directories: string[] = [];
after(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

/** Where each store keeps its data across a close: a PGlite directory, or a PostgreSQL database. */
const subjects: { name: string; location: () => Promise<{ dataDir?: string; databaseUrl?: string }> }[] = [
  {
    name: "PGlite (dataDir)",
    location: async () => {
      const dataDir = await mkdtemp(join(tmpdir(), "keel-timer-"));
      directories.push(dataDir);
      return { dataDir };
    },
  },
];
const serverUrl = testDatabaseServerUrl();
if (serverUrl !== null) {
  subjects.push({
    name: "PostgreSQL",
    location: async () => ({ databaseUrl: await createTestDatabase(serverUrl) }),
  });
}

for (const subject of subjects) {
  describe(`durable timers on ${subject.name}`, () => {
    test("a timer set before the store closed fires once after it is opened again, and not before it is due", async () => {
      const location = await subject.location();
      const agent = uniqueName("agent");
      const runId = uniqueName("run");
      let store: SqlStore = await openStore(location);
      const until = new Date(Date.now() + 300);
      try {
        await store.createRun({ runId, start: runStart(agent) });
        const lease = await store.acquireLease({ runId, owner: "before", ttlMs: 100 });
        await store.append({
          lease: lease!,
          events: [
            stepStart(1),
            { type: "run-suspend", payload: { reason: "wait", wait: { until: until.toISOString() } } },
          ],
        });
        // A crash rather than a release: the lease is left to expire by itself.
      } finally {
        await store.close();
      }

      store = await openStore(location);
      try {
        assert.equal((await store.getRun(runId))?.wakeAt?.toISOString(), until.toISOString());
        if (Date.now() < until.getTime() - 50) {
          assert.deepEqual(
            await store.claimRuns({ owner: "early", ttlMs: 10_000, limit: 5, agents: [agent] }),
            [],
          );
        }
        await sleep(Math.max(0, until.getTime() - Date.now()) + 50);
        const claimed = await store.claimRuns({ owner: "after", ttlMs: 10_000, limit: 5, agents: [agent] });
        assert.deepEqual(
          claimed.map((lease) => lease.runId),
          [runId],
        );
        await store.releaseLease(claimed[0]!);
      } finally {
        await store.close();
      }

      store = await openStore(location);
      try {
        const events = await store.readEvents({ runId });
        assert.deepEqual(
          events.map((event) => event.type),
          ["run-start", "step-start", "run-suspend", "timer-fire", "run-resume"],
        );
        assert.equal((await store.getRun(runId))?.wakeAt, null);
      } finally {
        await store.close();
      }
    });
  });
}
