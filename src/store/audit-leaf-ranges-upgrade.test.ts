import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { hashEvent, type JournalEvent } from "../journal/index.ts";
import { assignLeafIndexes } from "./assign-leaf-indexes.ts";
import { loadAuditSigner, readAuditKeys } from "./audit-keys.ts";
import { readLeaves } from "./audit-log-queries.ts";
import { createAuditCheckpoint } from "./create-audit-checkpoint.ts";
import { PgliteStore } from "./pglite-store.ts";
import { PostgresStore } from "./postgres-store.ts";
import { loadMigrations } from "./run-migrations.ts";
import type { SqlStore } from "./sql-store.ts";
import { verifyStoreAuditLog } from "./verify-store-audit-log.ts";

/** The journal a store wrote before this version (hashes as the append computed them then). */
const written = JSON.parse(
  readFileSync(new URL("./__fixtures__/journal-written-before.json", import.meta.url), "utf8"),
) as JournalEvent[];

/** The fixture's events again under another run id, hash-linked for it, so two runs interleave in the log. */
function copiedAs(runId: string): JournalEvent[] {
  let prevHash = written[0]!.prevHash;
  return written.map((event) => {
    const hash = hashEvent({ ...event, runId, prevHash });
    const copy = { ...event, runId, prevHash, hash };
    prevHash = hash;
    return copy;
  });
}

/** A database as migrations before 0020 left it: run `script` with the client's own multi-statement call. */
type OldDatabase = { exec: (script: string) => Promise<void>; store: SqlStore; close: () => Promise<void> };

/**
 * Write two runs' journals the way the store did before leaf ranges: every event with its leaf index in the row,
 * the runs interleaved in the log, and the last two events of each run not yet numbered (a NULL leaf index and a
 * commit marker) as the sequencer had left them.
 */
async function writeOldJournals(db: OldDatabase): Promise<{ leaves: [string, number][]; queued: number }> {
  const migrations = (await loadMigrations()).filter((migration) => migration.id < "0020");
  await db.exec(
    "CREATE TABLE keel_migrations (id text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT clock_timestamp())",
  );
  for (const migration of migrations) {
    await db.exec(migration.sql);
    await db.store.sql.query("INSERT INTO keel_migrations (id, checksum) VALUES ($1, $2)", [
      migration.id,
      migration.checksum,
    ]);
  }
  const runs = [written, copiedAs("run_fixture_copy")];
  const order: JournalEvent[] = [];
  for (let index = 0; index < written.length - 2; index++) for (const run of runs) order.push(run[index]!);
  const queued = runs.flatMap((run) => run.slice(-2));
  for (const run of runs) {
    const last = run.at(-1)!;
    await db.store.sql.query(
      `INSERT INTO keel_runs (run_id, agent, agent_version, status, input, principal, tenant, last_seq, last_hash)
       VALUES ($1, 'fixture', '1.0.0', 'running', 'input', '{"subject":"user:ada","tenant":"default","roles":[]}', 'default', $2, $3)`,
      [last.runId, last.seq, last.hash],
    );
  }
  for (const [leaf, event] of [
    ...order.map((event, leaf) => [leaf, event] as const),
    ...queued.map((event) => [null, event] as const),
  ]) {
    await db.store.sql.query(
      `INSERT INTO keel_events
         (run_id, seq, type, at, payload, schema_version, payload_hash, prev_hash, hash, lease_token, leaf_index)
       VALUES ($1, $2, $3, $4::timestamptz, $5::text::jsonb, $6, $7, $8, $9, 1, $10)`,
      [
        event.runId,
        event.seq,
        event.type,
        event.at,
        JSON.stringify(event.payload),
        event.schemaVersion,
        event.payloadHash,
        event.prevHash,
        event.hash,
        leaf,
      ],
    );
  }
  await db.store.sql.query("UPDATE keel_audit_log SET size = $1", [order.length]);
  return { leaves: order.map((event) => [event.runId, event.seq]), queued: queued.length };
}

function upgradeSuite(name: string, open: () => Promise<OldDatabase>): void {
  describe(`upgrading a store with numbered and unnumbered events to leaf ranges on ${name}`, () => {
    const opened: OldDatabase[] = [];
    after(async () => {
      for (const db of opened) await db.close();
    });

    test("keeps every leaf where it was, numbers the queued events after them, and the old journal verifies", async () => {
      const db = await open();
      opened.push(db);
      const { leaves, queued } = await writeOldJournals(db);
      await db.store.migrate();
      const { sql } = db.store;
      const read = await readLeaves(sql, 0, leaves.length);
      assert.deepEqual(
        read.map((leaf) => [leaf.runId, leaf.seq]),
        leaves,
        "each numbered event keeps its leaf index",
      );
      assert.deepEqual(
        read.map((leaf) => leaf.leafIndex),
        leaves.map((_, index) => index),
      );
      assert.equal(
        await assignLeafIndexes(sql),
        queued,
        "the events the sequencer had not reached are numbered now",
      );
      const size = leaves.length + queued;
      const tail = await readLeaves(sql, leaves.length, size);
      assert.deepEqual(
        tail.map((leaf) => [leaf.runId, leaf.seq]),
        [written.at(-2)!, written.at(-1)!, ...copiedAs("run_fixture_copy").slice(-2)].map((event) => [
          event.runId,
          event.seq,
        ]),
        "in the order their commit markers were drawn",
      );
      const verdict = await verifyStoreAuditLog(sql, { trustedKeys: await readAuditKeys(sql) });
      assert.deepEqual(verdict.problems, []);
      assert.equal(verdict.leaves, size);
      const signer = await loadAuditSigner(sql);
      const checkpoint = await createAuditCheckpoint(sql, { signer });
      assert.equal(checkpoint?.treeSize, size);
      const signed = await verifyStoreAuditLog(sql, { trustedKeys: await readAuditKeys(sql) });
      assert.ok(signed.ok, JSON.stringify(signed.problems));
      assert.equal(signed.latest?.treeSize, size);
      assert.deepEqual(
        await db.store.readEvents({ runId: written[0]!.runId }),
        written,
        "the journal reads back exactly as it was written, hashes in hex",
      );
    });
  });
}

upgradeSuite("PGlite", async () => {
  const db = new PGlite();
  await db.waitReady;
  const store = new PgliteStore(db, { ownsDatabase: true });
  return {
    exec: async (script) => void (await db.exec(script)),
    store,
    close: async () => await store.close(),
  };
});

// Under CI=true this throws when no server was started, failing the file rather than skipping PostgreSQL.
const serverUrl = testDatabaseServerUrl();
if (serverUrl === null) {
  describe("upgrading to leaf ranges on PostgreSQL", {
    skip: "PostgreSQL is not installed (KEEL_TEST_DATABASE_URL is unset)",
  }, () => {});
} else {
  upgradeSuite("PostgreSQL", async () => {
    const pool = new pg.Pool({ connectionString: await createTestDatabase(serverUrl), max: 2 });
    pool.on("error", () => undefined);
    const store = new PostgresStore(pool, { ownsPool: true });
    return {
      exec: async (script) => void (await pool.query(script)),
      store,
      close: async () => await store.close(),
    };
  });
}
