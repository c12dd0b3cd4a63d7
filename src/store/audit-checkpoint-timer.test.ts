import assert from "node:assert/strict";
import { test } from "node:test";
import { startAuditCheckpoints } from "./audit-checkpoint-timer.ts";
import { loadAuditSigner } from "./audit-keys.ts";
import { openStore } from "./open-store.ts";
import { createQueuedRun, stepStart } from "./store-contract-fixtures.ts";

test("on PGlite, which has no autovacuum, the checkpointer vacuums the sequencer's queue once it has numbered 10,000 leaves", async () => {
  // A migrated in-memory PGlite (from the run's template when there is one, not initdb).
  const store = await openStore({});
  const signer = await loadAuditSigner(store.sql);
  const queueBytes = async () =>
    Number(
      (
        await store.sql.query<{ bytes: number }>(
          "SELECT pg_relation_size('keel_audit_pending')::int AS bytes",
        )
      ).rows[0]!.bytes,
    );
  const timer = startAuditCheckpoints({
    sql: store.sql,
    signer,
    schedule: { everyEvents: 1_000_000, everyMs: 50 },
  });
  try {
    const run = await createQueuedRun(store);
    const lease = await store.acquireLease({ runId: run.runId, owner: "vacuum-test", ttlMs: 60_000 });
    assert.ok(lease);
    // Below the threshold the queue keeps the rows the sequencer deleted.
    await store.append({ lease, events: Array.from({ length: 50 }, (_, index) => stepStart(index + 1)) });
    const size = async () =>
      Number((await store.sql.query<{ size: string }>("SELECT size FROM keel_audit_log")).rows[0]!.size);
    while ((await size()) < 51) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok((await queueBytes()) > 0, "numbered rows stay in the queue's pages until a vacuum");
    for (let append = 0; append < 100; append++) {
      await store.append({
        lease,
        events: Array.from({ length: 100 }, (_, index) => stepStart(append * 100 + index + 51)),
      });
    }
    const deadline = Date.now() + 30_000;
    while ((await queueBytes()) > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(await size(), 10_051, "every event was numbered");
    assert.equal(await queueBytes(), 0, "the vacuum gave the emptied queue's pages back");
  } finally {
    await timer.stop();
    await store.close();
  }
});
