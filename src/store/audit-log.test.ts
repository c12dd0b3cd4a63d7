import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { makeEventRowsWritable } from "../../test/support/writable-event-rows.ts";
import { hashAuditLeaf } from "../journal/audit/audit-leaf.ts";
import { buildConsistencyProof, buildInclusionProof } from "../journal/audit/build-proof.ts";
import {
  auditKeyId,
  type Checkpoint,
  parseCheckpoint,
  rawPublicKey,
  signCheckpoint,
} from "../journal/audit/checkpoint.ts";
import { verifyConsistency } from "../journal/audit/consistency-proof.ts";
import { auditLeafOfRow } from "../journal/audit/hash-leaf-page.ts";
import { verifyInclusion } from "../journal/audit/inclusion-proof.ts";
import {
  checkpointsDigests,
  signVerification,
  VERIFICATION_FORMAT,
} from "../journal/audit/verification-record.ts";
import type { NewEvent } from "../journal/events.ts";
import { assignLeafIndexes } from "./assign-leaf-indexes.ts";
import { type AuditSigner, loadAuditSigner, readAuditKeys } from "./audit-keys.ts";
import { readCheckpoints, readLeaves } from "./audit-log-queries.ts";
import { storeSubtreeHashes } from "./audit-subtree-hashes.ts";
import { insertVerificationRecord } from "./audit-verifications.ts";
import { createAuditCheckpoint } from "./create-audit-checkpoint.ts";
import { PgliteStore } from "./pglite-store.ts";
import { PostgresStore } from "./postgres-store.ts";
import type { SqlStore } from "./sql-store.ts";
import type { SqlClient } from "./store.ts";
import { createQueuedRun, runEnd, stepStart } from "./store-contract-fixtures.ts";
import { verifyStoreAuditLog } from "./verify-store-audit-log.ts";

type Opened = { store: SqlStore; peer: SqlStore; close: () => Promise<void> };

class Rollback extends Error {}

/** Append `steps` events to each of `runs` new runs, half through each store, all at once. */
async function journalRuns(stores: readonly SqlStore[], runs: number, steps: number): Promise<string[]> {
  return await Promise.all(
    Array.from({ length: runs }, async (_, index) => {
      const store = stores[index % stores.length]!;
      const run = await createQueuedRun(store);
      const lease = await store.acquireLease({ runId: run.runId, owner: `writer-${index}`, ttlMs: 60_000 });
      assert.ok(lease);
      for (let step = 1; step <= steps; step++) {
        const events: NewEvent[] = [
          stepStart(step),
          { type: "step-start", payload: { step, node: `tool-${index}` } },
        ];
        await store.append({
          lease,
          events: step === steps ? [...events, runEnd(`answer ${index}`)] : events,
        });
      }
      return run.runId;
    }),
  );
}

/** Run `work` in a transaction and roll everything it did back. */
async function rolledBack(store: SqlStore, work: (tx: SqlClient) => Promise<void>): Promise<void> {
  await assert.rejects(
    store.sql.transaction(async (tx) => {
      await work(tx);
      throw new Rollback();
    }),
    Rollback,
  );
}

/** Sign and store a verification record naming the stored checkpoint of `treeSize`, as a verify would. */
async function recordVerification(
  tx: SqlClient,
  signer: Pick<AuditSigner, "keyId" | "privateKey">,
  treeSize: number,
): Promise<void> {
  const stored = await readCheckpoints(tx);
  const index = stored.findIndex((signed) => parseCheckpoint(signed).treeSize === treeSize);
  assert.ok(index >= 0, `a checkpoint of ${treeSize} leaves is stored`);
  const checkpoint = parseCheckpoint(stored[index]!);
  await insertVerificationRecord(
    tx,
    signVerification(
      {
        format: VERIFICATION_FORMAT,
        logId: checkpoint.logId,
        treeSize,
        rootHash: checkpoint.rootHash,
        checkpointsHash: checkpointsDigests(stored).at(index)!,
        mode: "full",
        verifiedAt: "2026-12-01T00:00:00.000Z",
        keyId: signer.keyId,
      },
      signer.privateKey,
    ),
  );
}

/** SQL naming the event at leaf $1, for tampering with it. */
const AT_LEAF = `(run_id, seq) = (
  SELECT l.run_id, l.first_seq + ($1 - l.first_leaf)::integer FROM keel_audit_ranges AS l
   WHERE l.first_leaf <= $1 ORDER BY l.first_leaf DESC LIMIT 1)`;

/** Every numbered event with its leaf index (as `place`). */
const NUMBERED = `SELECT (l.first_leaf + (e.seq - l.first_seq))::float8 AS place, e.run_id, e.seq
  FROM keel_audit_ranges AS l
  JOIN keel_events AS e ON e.run_id = l.run_id AND e.seq >= l.first_seq AND e.seq < l.first_seq + l.count`;

const editPayload = async (tx: SqlClient, leaf: number) =>
  void (await tx.query(
    `UPDATE keel_events SET payload = (payload::jsonb || '{"edited": true}'::jsonb)::text WHERE ${AT_LEAF}`,
    [leaf],
  ));

/** Delete the events from leaf `leaf` on and cut the ranges that numbered them back to it. */
async function cutTail(tx: SqlClient, leaf: number): Promise<void> {
  await tx.query(
    `DELETE FROM keel_events AS e USING keel_audit_ranges AS l
      WHERE e.run_id = l.run_id AND e.seq >= l.first_seq + greatest(0, $1 - l.first_leaf)
        AND e.seq < l.first_seq + l.count AND l.first_leaf + l.count > $1`,
    [leaf],
  );
  await tx.query("DELETE FROM keel_audit_ranges WHERE first_leaf >= $1", [leaf]);
  await tx.query(
    "UPDATE keel_audit_ranges SET count = ($1 - first_leaf)::integer WHERE first_leaf + count > $1",
    [leaf],
  );
}

/** Number the stored events again as `edit` reorders them: one range per leaf, from leaf 0. */
async function renumber(
  tx: SqlClient,
  edit: (leaves: { run_id: string; seq: number }[]) => void,
): Promise<void> {
  const { rows } = await tx.query<{ run_id: string; seq: number }>(`${NUMBERED} ORDER BY place`);
  edit(rows);
  await tx.query("DELETE FROM keel_audit_ranges");
  await tx.query(
    `INSERT INTO keel_audit_ranges (first_leaf, run_id, first_seq, count)
     SELECT place - 1, run_id, seq, 1 FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS r(run_id, seq, place)`,
    [rows.map((row) => row.run_id), rows.map((row) => row.seq)],
  );
}

/** Tamper inside a transaction, verify what the transaction sees, and roll the tampering back. */
async function verifyTampered(
  store: SqlStore,
  trustedKeys: Awaited<ReturnType<typeof readAuditKeys>>,
  tamper: (tx: SqlClient) => Promise<void>,
): Promise<Awaited<ReturnType<typeof verifyStoreAuditLog>>> {
  let verdict: Awaited<ReturnType<typeof verifyStoreAuditLog>> | undefined;
  await assert.rejects(
    store.sql.transaction(async (tx) => {
      await tamper(tx);
      verdict = await verifyStoreAuditLog(tx, { trustedKeys });
      throw new Rollback();
    }),
    Rollback,
  );
  return verdict!;
}

function auditLogSuite(name: string, open: () => Promise<Opened>): void {
  describe(`the audit log on ${name}`, () => {
    let opened: Opened;
    let signer: AuditSigner;
    const checkpoints: Checkpoint[] = [];

    before(async () => {
      opened = await open();
      await makeEventRowsWritable(opened.store.sql);
      signer = await loadAuditSigner(opened.store.sql);
      await journalRuns([opened.store, opened.peer], 12, 6);
      checkpoints.push((await createAuditCheckpoint(opened.store.sql, { signer }))!);
      // A checkpointer running while two writers append: it signs whatever had committed when it looked.
      const [, during] = await Promise.all([
        journalRuns([opened.store, opened.peer], 16, 8),
        createAuditCheckpoint(opened.peer.sql, { signer }),
      ]);
      if (during) checkpoints.push(during);
      checkpoints.push((await createAuditCheckpoint(opened.peer.sql, { signer }))!);
      await journalRuns([opened.store], 3, 2);
      // The tests below read the log as a whole: every event numbered.
      await assignLeafIndexes(opened.store.sql);
    });

    after(async () => await opened.close());

    test("numbers every event once, densely and in commit order, across two writers and a rolled-back append", async () => {
      const { sql } = opened.store;
      const before = Number(
        (await sql.query<{ size: string }>("SELECT size FROM keel_audit_log")).rows[0]!.size,
      );
      // An append that rolls back took a commit marker and is gone: the sequencer never sees it.
      const [runId] = await journalRuns([opened.store], 1, 1);
      await assert.rejects(
        sql.transaction(async (tx) => {
          await tx.query(
            `INSERT INTO keel_events (run_id, seq, type, at, payload, schema_version, payload_hash, prev_hash, hash, lease_token)
             VALUES ($1, 1000, 'step-start', now(), '{}', 1, '\\x${"00".repeat(32)}', '\\x${"00".repeat(32)}',
                     '\\x${"00".repeat(32)}', 1)`,
            [runId],
          );
          await tx.query("INSERT INTO keel_audit_pending (run_id, first_seq, count) VALUES ($1, 1000, 1)", [
            runId,
          ]);
          throw new Rollback();
        }),
        Rollback,
      );
      await journalRuns([opened.store, opened.peer], 2, 1);
      await assignLeafIndexes(opened.peer.sql);
      const { rows } = await sql.query<{ place: number; run_id: string; seq: number }>(
        `${NUMBERED} ORDER BY place`,
      );
      const size = Number(
        (await sql.query<{ size: string }>("SELECT size FROM keel_audit_log")).rows[0]!.size,
      );
      const { rows: stored } = await sql.query<{ n: number }>("SELECT count(*)::int AS n FROM keel_events");
      assert.equal(stored[0]!.n, rows.length, "every stored event is a leaf");
      assert.equal(size, rows.length);
      assert.ok(size > before);
      for (const [index, row] of rows.entries()) {
        assert.equal(Number(row.place), index, "no gap, not even for the rollback");
      }
      const lastSeq = new Map<string, number>();
      for (const row of rows) {
        assert.equal(row.seq, (lastSeq.get(row.run_id) ?? 0) + 1, `run ${row.run_id} appears in seq order`);
        lastSeq.set(row.run_id, row.seq);
      }
    });

    test("numbers events without rewriting their rows: one narrow range per run and stretch of leaves", async () => {
      const { sql } = opened.store;
      await assignLeafIndexes(sql);
      const runIds = await journalRuns([opened.store, opened.peer], 4, 3);
      const versions = async () =>
        (
          await sql.query<{ run_id: string; first_seq: number; events: number; version: string }>(
            `SELECT run_id, first_seq, cardinality(types) AS events, xmin::text || ' ' || ctid::text AS version
               FROM keel_event_batches WHERE run_id = ANY($1::text[]) ORDER BY run_id, first_seq`,
            [runIds],
          )
        ).rows;
      const before = await versions();
      const { rows: ranges } = await sql.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM keel_audit_ranges",
      );
      assert.equal(
        await assignLeafIndexes(sql),
        before.reduce((sum, batch) => sum + batch.events, 0),
      );
      assert.deepEqual(await versions(), before, "no event row was updated or moved");
      const { rows: added } = await sql.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM keel_audit_ranges",
      );
      // Each run's 1 + 3 appends, interleaved with the other runs': at most one range per append.
      assert.ok(
        added[0]!.n - ranges[0]!.n <= runIds.length * 4,
        "a range per run and stretch, not per event",
      );
    });

    test("numbers concurrent appends gaplessly and in commit order while sequencers on both stores run beside them", async () => {
      const stores = [opened.store, opened.peer];
      const { rows: start } = await opened.store.sql.query<{ size: string }>(
        "SELECT size FROM keel_audit_log",
      );
      // Each append, with where it stood against the others: issued after `after` appends had resolved.
      const appends: { runId: string; seqs: number[]; after: number; resolvedAs: number }[] = [];
      let resolved = 0;
      let writing = true;
      const sequencers = stores.map(async (store) => {
        while (writing) {
          await assignLeafIndexes(store.sql);
          // Seldom enough that a pass numbers many commits at once, where the order within a pass is tested.
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      });
      await Promise.all(
        Array.from({ length: 24 }, async (_, index) => {
          const store = stores[index % stores.length]!;
          const run = await createQueuedRun(store);
          const lease = await store.acquireLease({
            runId: run.runId,
            owner: `ordered-${index}`,
            ttlMs: 60_000,
          });
          assert.ok(lease);
          for (let step = 1; step <= 6; step++) {
            const after = resolved;
            const written = await store.append({ lease, events: [stepStart(step), stepStart(step + 100)] });
            appends.push({
              runId: run.runId,
              seqs: written.map((event) => event.seq),
              after,
              resolvedAs: resolved,
            });
            resolved += 1;
          }
        }),
      );
      writing = false;
      await Promise.all(sequencers);
      await assignLeafIndexes(opened.store.sql);
      const { rows } = await opened.store.sql.query<{ place: number; run_id: string; seq: number }>(
        `${NUMBERED} WHERE l.first_leaf + (e.seq - l.first_seq) >= $1 ORDER BY place`,
        [Number(start[0]!.size)],
      );
      const size = Number(
        (await opened.store.sql.query<{ size: string }>("SELECT size FROM keel_audit_log")).rows[0]!.size,
      );
      assert.equal(size, Number(start[0]!.size) + rows.length, "the size counts exactly the numbered leaves");
      for (const [offset, row] of rows.entries()) {
        assert.equal(row.place, Number(start[0]!.size) + offset, "no gap and no leaf numbered twice");
      }
      const leafOf = new Map(rows.map((row) => [`${row.run_id}:${row.seq}`, row.place]));
      const { rows: unnumbered } = await opened.store.sql.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM keel_events)::int - (SELECT sum(count) FROM keel_audit_ranges)::int AS n
          WHERE NOT EXISTS (SELECT 1 FROM keel_audit_pending)`,
      );
      assert.equal(unnumbered[0]?.n, 0, "every committed event was numbered");
      // Commit order as the writers saw it: an append issued after another had committed gets later leaves.
      const spans = appends.map((append) => {
        const leaves = append.seqs.map((seq) => leafOf.get(`${append.runId}:${seq}`)!);
        return { ...append, first: Math.min(...leaves), last: Math.max(...leaves) };
      });
      let ordered = 0;
      for (const later of spans) {
        for (const earlier of spans) {
          if (earlier.resolvedAs >= later.after) continue;
          ordered += 1;
          assert.ok(
            earlier.last < later.first,
            `an append issued after run ${earlier.runId}'s seqs ${earlier.seqs} committed got earlier leaves`,
          );
        }
      }
      assert.ok(ordered > 1_000, "enough appends were ordered by commit to prove something");
      const runs = new Map<string, number>();
      for (const row of rows) {
        assert.ok(row.seq > (runs.get(row.run_id) ?? 0), `run ${row.run_id} appears in seq order`);
        runs.set(row.run_id, row.seq);
      }
    });

    test("verifies end to end: events, chains, run heads, every checkpoint's root and signature", async () => {
      const verdict = await verifyStoreAuditLog(opened.store.sql, {
        trustedKeys: await readAuditKeys(opened.store.sql),
      });
      assert.deepEqual(verdict.problems, []);
      assert.ok(verdict.ok);
      assert.equal(verdict.checkpoints, checkpoints.length);
      assert.equal(verdict.latest?.treeSize, checkpoints.at(-1)!.treeSize);
      assert.ok(verdict.unsigned > 0, "events after the last checkpoint are counted as not yet signed");
      const threaded = await verifyStoreAuditLog(opened.store.sql, { threads: 2 });
      assert.ok(threaded.ok, JSON.stringify(threaded.problems));
      assert.equal(threaded.leaves, verdict.leaves);
    });

    test("inclusion and consistency proofs built from the node cache verify against the signed roots", async () => {
      const latest = checkpoints.at(-1)!;
      const lookup = storeSubtreeHashes(opened.store.sql);
      const root = Buffer.from(latest.rootHash, "hex");
      for (const index of [0, 1, 15, 16, 255, 256, latest.treeSize - 1, Math.floor(latest.treeSize / 3)]) {
        if (index >= latest.treeSize) continue;
        const [leaf] = await readLeaves(opened.store.sql, index, index + 1);
        const path = await buildInclusionProof(index, latest.treeSize, lookup);
        const leafHash = hashAuditLeaf(auditLeafOfRow(leaf!).leaf);
        assert.ok(verifyInclusion({ index, size: latest.treeSize, leafHash, path, root }), `leaf ${index}`);
      }
      for (let i = 1; i < checkpoints.length; i++) {
        const [older, newer] = [checkpoints[i - 1]!, checkpoints[i]!];
        const proof = await buildConsistencyProof(older.treeSize, newer.treeSize, lookup);
        assert.ok(
          verifyConsistency({
            oldSize: older.treeSize,
            newSize: newer.treeSize,
            oldRoot: Buffer.from(older.rootHash, "hex"),
            newRoot: Buffer.from(newer.rootHash, "hex"),
            proof,
          }),
        );
      }
      assert.equal(await createAuditCheckpoint(opened.store.sql, { signer }).then(Boolean), true);
      assert.equal(
        await createAuditCheckpoint(opened.store.sql, { signer }),
        null,
        "nothing new, nothing signed",
      );
    });

    test("detects tampering done in SQL: edits, deletions, reordering, truncation, forged checkpoints and keys", async () => {
      const { sql } = opened.store;
      const trustedKeys = await readAuditKeys(sql);
      const signed = (await readCheckpoints(sql)).length;
      const latest = Number(
        (await sql.query<{ size: string }>("SELECT max(tree_size)::text AS size FROM keel_audit_checkpoints"))
          .rows[0]!.size,
      );
      const attacker = generateKeyPairSync("ed25519");
      let seed = 11;
      const pick = (limit: number) => {
        seed = (seed * 48_271) % 2_147_483_647;
        return seed % limit;
      };
      const tamperings: [string, (tx: SqlClient, leaf: number) => Promise<void>][] = [
        [
          "edit a payload field",
          async (tx, leaf) =>
            void (await tx.query(
              `UPDATE keel_events SET payload = (payload::jsonb || '{"edited": true}'::jsonb)::text WHERE ${AT_LEAF}`,
              [leaf],
            )),
        ],
        [
          "shift a timestamp by a microsecond",
          async (tx, leaf) =>
            void (await tx.query(
              `UPDATE keel_events SET at = at + interval '1 microsecond' WHERE ${AT_LEAF}`,
              [leaf],
            )),
        ],
        [
          "change the lease token",
          async (tx, leaf) =>
            void (await tx.query(`UPDATE keel_events SET lease_token = lease_token + 1 WHERE ${AT_LEAF}`, [
              leaf,
            ])),
        ],
        [
          "delete an event",
          async (tx, leaf) => void (await tx.query(`DELETE FROM keel_events WHERE ${AT_LEAF}`, [leaf])),
        ],
        [
          "delete an event and renumber the rest",
          async (tx, leaf) => {
            await tx.query(`DELETE FROM keel_events WHERE ${AT_LEAF}`, [leaf]);
            await renumber(tx, () => undefined);
            await tx.query("UPDATE keel_audit_log SET size = size - 1");
          },
        ],
        [
          "swap two events",
          async (tx, leaf) => {
            const other = leaf === 0 ? 1 : leaf - 1;
            await renumber(tx, (leaves) => {
              [leaves[leaf], leaves[other]] = [leaves[other]!, leaves[leaf]!];
            });
          },
        ],
        [
          "truncate the tail and lower the counter",
          async (tx, leaf) => {
            await cutTail(tx, leaf);
            await tx.query("UPDATE keel_audit_log SET size = $1", [leaf]);
            await tx.query(
              `UPDATE keel_runs AS r SET last_seq = coalesce(h.seq, 0), last_hash = coalesce(encode(h.hash, 'hex'), '')
                 FROM keel_runs AS r2 LEFT JOIN LATERAL (
                   SELECT seq, hash FROM keel_events WHERE run_id = r2.run_id ORDER BY seq DESC LIMIT 1) AS h ON true
                WHERE r.run_id = r2.run_id`,
            );
          },
        ],
        [
          "insert an event that no leaf stands for and nothing queued",
          async (tx, leaf) =>
            void (await tx.query(
              `INSERT INTO keel_events (run_id, seq, type, at, payload, schema_version, payload_hash, prev_hash, hash, lease_token)
               SELECT run_id, seq + 100000, type, at, payload, schema_version, payload_hash, prev_hash, hash, lease_token
                 FROM keel_events WHERE ${AT_LEAF}`,
              [leaf],
            )),
        ],
        [
          "shift the range holding a leaf by one seq",
          async (tx, leaf) =>
            void (await tx.query(
              `UPDATE keel_audit_ranges SET first_seq = first_seq + 1
                WHERE first_leaf = (SELECT max(first_leaf) FROM keel_audit_ranges WHERE first_leaf <= $1)`,
              [leaf],
            )),
        ],
        [
          "alter a checkpoint's root",
          async (tx) =>
            void (await tx.query(
              "UPDATE keel_audit_checkpoints SET body = regexp_replace(body, '\"rootHash\":\"(.)', '\"rootHash\":\"' || CASE WHEN substr(body, strpos(body, '\"rootHash\":\"') + 12, 1) = 'a' THEN 'b' ELSE 'a' END) WHERE tree_size = $1",
              [latest],
            )),
        ],
        [
          "alter a checkpoint's signature",
          async (tx) =>
            void (await tx.query(
              "UPDATE keel_audit_checkpoints SET signature = CASE WHEN left(signature, 1) = 'A' THEN 'B' ELSE 'A' END || substr(signature, 2) WHERE tree_size = $1",
              [latest],
            )),
        ],
        [
          "edit an event, then re-sign every checkpoint with a new key put in the key table",
          async (tx, leaf) => {
            await tx.query(
              `UPDATE keel_events SET payload = (payload::jsonb || '{"edited": true}'::jsonb)::text WHERE ${AT_LEAF}`,
              [leaf],
            );
            const keyId = auditKeyId(attacker.publicKey);
            const { rows } = await tx.query<{ tree_size: string; body: string }>(
              "SELECT tree_size::text, body FROM keel_audit_checkpoints",
            );
            for (const row of rows) {
              const body = { ...JSON.parse(row.body), keyId };
              const forged = signCheckpoint(body, attacker.privateKey);
              await tx.query(
                "UPDATE keel_audit_checkpoints SET body = $1, signature = $2 WHERE tree_size = $3",
                [forged.body, forged.signature, row.tree_size],
              );
            }
          },
        ],
      ];
      let trials = 0;
      for (let round = 0; round < 3; round++) {
        for (const [what, tamper] of tamperings) {
          const leaf = pick(latest);
          const verdict = await verifyTampered(
            opened.store,
            trustedKeys,
            async (tx) => await tamper(tx, leaf),
          );
          assert.equal(verdict.ok, false, `${what} at leaf ${leaf} went unnoticed`);
          trials++;
        }
      }
      assert.equal(trials, tamperings.length * 3);
      assert.equal(signed, (await readCheckpoints(sql)).length);
      assert.ok((await verifyStoreAuditLog(sql, { trustedKeys })).ok, "every trial was rolled back");
    });

    test("verifies incrementally from a signed record: re-reads every leaf after it and finds an edit there, counts those before it", async () => {
      const store = opened.store;
      const trustedKeys = await readAuditKeys(store.sql);
      const [first, second] = [checkpoints[0]!.treeSize, checkpoints[1]!.treeSize];
      await rolledBack(store, async (tx) => {
        const none = await verifyStoreAuditLog(tx, { trustedKeys, incremental: true, signer });
        assert.ok(none.ok, JSON.stringify(none.problems));
        assert.equal(none.mode, "full");
        assert.equal(none.fullBecause, "no earlier verification is recorded");
        assert.equal(
          none.recorded?.treeSize,
          none.latest?.treeSize,
          "a record of the newest checkpoint is left",
        );
        const next = await verifyStoreAuditLog(tx, { trustedKeys, incremental: true, signer });
        assert.ok(next.ok, JSON.stringify(next.problems));
        assert.equal(next.mode, "incremental");
        assert.equal(next.from, none.latest?.treeSize);
        assert.equal(next.leaves, none.leaves);
        assert.equal(next.recorded, null, "nothing newer to record");
      });
      await rolledBack(store, async (tx) => {
        await recordVerification(tx, signer, first);
        const clean = await verifyStoreAuditLog(tx, { trustedKeys, incremental: true });
        assert.ok(clean.ok, JSON.stringify(clean.problems));
        assert.equal(clean.mode, "incremental");
        assert.equal(clean.from, first);
        assert.equal(clean.continuedFrom?.treeSize, first);
        assert.ok(clean.runs > 0, "the runs counted are those with events after the record");
        const full = await verifyStoreAuditLog(tx, { trustedKeys });
        assert.deepEqual(
          { leaves: clean.leaves, latest: clean.latest?.treeSize, unsigned: clean.unsigned },
          { leaves: full.leaves, latest: full.latest?.treeSize, unsigned: full.unsigned },
        );
      });
      const total = Number(
        (await store.sql.query<{ size: string }>("SELECT size FROM keel_audit_log")).rows[0]!.size,
      );
      const latest = Math.max(
        ...(await readCheckpoints(store.sql)).map((signed) => parseCheckpoint(signed).treeSize),
      );
      const leaves = [first, Math.floor((first + second) / 2), second - 1, latest - 1, latest, total - 1];
      for (const leaf of new Set(leaves.filter((leaf) => leaf < total))) {
        await rolledBack(store, async (tx) => {
          await recordVerification(tx, signer, first);
          await editPayload(tx, leaf);
          const verdict = await verifyStoreAuditLog(tx, { trustedKeys, incremental: true });
          assert.equal(verdict.mode, "incremental");
          assert.equal(
            verdict.ok,
            false,
            `an edit of leaf ${leaf}, after the record at ${first}, went unnoticed`,
          );
          assert.ok(
            verdict.problems.some((problem) => problem.leafIndex === leaf && problem.kind === "event"),
          );
        });
      }
      await rolledBack(store, async (tx) => {
        await recordVerification(tx, signer, second);
        await editPayload(tx, first);
        const incremental = await verifyStoreAuditLog(tx, { trustedKeys, incremental: true });
        assert.equal(
          incremental.ok,
          true,
          "an edit in place before the record is not re-read: what --full is for",
        );
        assert.equal((await verifyStoreAuditLog(tx, { trustedKeys })).ok, false, "the full verify finds it");
      });
      await rolledBack(store, async (tx) => {
        await recordVerification(tx, signer, second);
        await tx.query(`DELETE FROM keel_events WHERE ${AT_LEAF}`, [first]);
        const verdict = await verifyStoreAuditLog(tx, { trustedKeys, incremental: true });
        assert.equal(verdict.ok, false, "a leaf deleted below the record is counted missing");
        assert.equal(verdict.mode, "full");
        assert.match(
          verdict.fullBecause ?? "",
          new RegExp(`${second - 1} leaves are stored below the verified checkpoint ${second}`),
        );
      });
      await rolledBack(store, async (tx) => {
        await recordVerification(tx, signer, first);
        await tx.query("UPDATE keel_audit_checkpoints SET frontier = '[]'::jsonb WHERE tree_size = $1", [
          first,
        ]);
        const verdict = await verifyStoreAuditLog(tx, { trustedKeys, incremental: true });
        assert.ok(
          verdict.ok,
          "a wrong cached frontier is not evidence: the verify re-reads everything instead",
        );
        assert.equal(verdict.mode, "full");
        assert.match(verdict.fullBecause ?? "", /does not fold to its signed root/);
      });
    });

    test("detects a forged, replaced or rolled-back verification record, and a log cut back below one", async () => {
      const store = opened.store;
      const trustedKeys = await readAuditKeys(store.sql);
      const [first, second] = [checkpoints[0]!.treeSize, checkpoints[1]!.treeSize];
      const total = Number(
        (await store.sql.query<{ size: string }>("SELECT size FROM keel_audit_log")).rows[0]!.size,
      );
      const attacker = generateKeyPairSync("ed25519");
      const forgeries: [string, RegExp, (tx: SqlClient) => Promise<void>][] = [
        [
          "a record moved forward to the log's end, its signature kept",
          /forged or altered: the signature does not verify/,
          async (tx) => {
            await recordVerification(tx, signer, first);
            await tx.query(
              "UPDATE keel_audit_verifications SET body = replace(body, $1, $2), tree_size = $3",
              [`"treeSize":${first}`, `"treeSize":${total}`, total],
            );
          },
        ],
        [
          "a record signed with a key the attacker added to the key table",
          /forged or altered: signed with key [0-9a-f]{16}, which is not a trusted key/,
          async (tx) => {
            const keyId = auditKeyId(attacker.publicKey);
            await tx.query("INSERT INTO keel_audit_keys (key_id, public_key) VALUES ($1, $2)", [
              keyId,
              rawPublicKey(attacker.publicKey).toString("base64"),
            ]);
            await recordVerification(tx, { keyId, privateKey: attacker.privateKey }, second);
          },
        ],
        [
          "a row inserted without a signature",
          /a verification record is malformed/,
          async (tx) =>
            void (await tx.query(
              "INSERT INTO keel_audit_verifications (tree_size, body, signature) VALUES ($1, '{}', 'x')",
              [total],
            )),
        ],
        [
          "a checkpoint below the record deleted",
          /a checkpoint up to \d+ was removed, added or altered since/,
          async (tx) => {
            await recordVerification(tx, signer, second);
            await tx.query("DELETE FROM keel_audit_checkpoints WHERE tree_size = $1", [first]);
          },
        ],
        [
          "the log cut back to an older checkpoint, newer checkpoints and records of them dropped but one",
          /saw \d+ leaves but the log now counts \d+: it was cut back/,
          async (tx) => {
            await recordVerification(tx, signer, second);
            await cutTail(tx, first);
            await tx.query("DELETE FROM keel_audit_checkpoints WHERE tree_size > $1", [first]);
            await tx.query("UPDATE keel_audit_log SET size = $1", [first]);
            await tx.query(
              `UPDATE keel_runs AS r SET last_seq = coalesce(h.seq, 0), last_hash = coalesce(encode(h.hash, 'hex'), '')
                 FROM keel_runs AS r2 LEFT JOIN LATERAL (
                   SELECT seq, hash FROM keel_events WHERE run_id = r2.run_id ORDER BY seq DESC LIMIT 1) AS h ON true
                WHERE r.run_id = r2.run_id`,
            );
            await tx.query("DELETE FROM keel_runs WHERE last_seq = 0");
          },
        ],
      ];
      for (const [what, message, forge] of forgeries) {
        await rolledBack(store, async (tx) => {
          await forge(tx);
          for (const incremental of [true, false]) {
            const verdict = await verifyStoreAuditLog(tx, { trustedKeys, incremental });
            assert.equal(
              verdict.ok,
              false,
              `${what} went unnoticed (${incremental ? "incremental" : "full"})`,
            );
            assert.equal(verdict.mode, "full", "a verify whose records do not hold re-reads everything");
            assert.ok(
              verdict.problems.some(
                (problem) => problem.kind === "verification" && message.test(problem.message),
              ),
              `${what}: ${JSON.stringify(verdict.problems)}`,
            );
          }
        });
      }
      // Rolling the records back (dropping the newest) only moves the start earlier: an edit after the older
      // record is re-read and found.
      await rolledBack(store, async (tx) => {
        await recordVerification(tx, signer, first);
        await recordVerification(tx, signer, second);
        await editPayload(tx, first + 1);
        await tx.query("DELETE FROM keel_audit_verifications WHERE tree_size = $1", [second]);
        const verdict = await verifyStoreAuditLog(tx, { trustedKeys, incremental: true });
        assert.equal(verdict.mode, "incremental");
        assert.equal(verdict.from, first);
        assert.equal(verdict.ok, false);
        assert.ok(verdict.problems.some((problem) => problem.leafIndex === first + 1));
      });
      assert.ok((await verifyStoreAuditLog(store.sql, { trustedKeys })).ok, "every trial was rolled back");
    });
  });
}

auditLogSuite("PGlite", async () => {
  const db = new PGlite();
  await db.waitReady;
  const store = new PgliteStore(db, { ownsDatabase: true });
  await store.migrate();
  const peer = new PgliteStore(db);
  return { store, peer, close: async () => await store.close() };
});

// Under CI=true this throws when no server was started, failing the file rather than skipping PostgreSQL.
const serverUrl = testDatabaseServerUrl();
if (serverUrl === null) {
  describe("the audit log on PostgreSQL", {
    skip: "PostgreSQL is not installed (KEEL_TEST_DATABASE_URL is unset)",
  }, () => {});
} else {
  auditLogSuite("PostgreSQL", async () => {
    const url = await createTestDatabase(serverUrl);
    const openOne = () => {
      const pool = new pg.Pool({ connectionString: url, max: 6 });
      pool.on("error", () => undefined);
      return new PostgresStore(pool, { ownsPool: true });
    };
    const store = openOne();
    await store.migrate();
    const peer = openOne();
    return { store, peer, close: async () => void (await Promise.all([store.close(), peer.close()])) };
  });
}
