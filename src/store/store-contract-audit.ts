import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  auditLeafOfRow,
  buildInclusionProof,
  encodeLeaf,
  hashLeaf,
  parseCheckpoint,
  verifyCheckpointSignatureWith,
  verifyInclusion,
} from "../journal/index.ts";
import { loadAuditSigner } from "./audit-keys.ts";
import { createAuditCheckpoint } from "./create-audit-checkpoint.ts";
import {
  createQueuedRun,
  type StoreContractContext,
  stepStart,
  uniqueName,
} from "./store-contract-fixtures.ts";

/** The AuditQueries port: what an auditor's queries read back from the audit log after a checkpoint. */
export function auditContract(context: StoreContractContext): void {
  describe("audit queries", () => {
    test("before any checkpoint, the latest checkpoint is null and an unknown event has no leaf", async () => {
      const store = await context.openEmpty();
      await store.migrate();
      assert.equal(await store.latestCheckpoint(), null);
      assert.equal((await store.auditKeys()).size, 0);
      assert.equal(await store.leafIndexOf(uniqueName("run"), 1), null);
      assert.deepEqual(await store.readLeaves(0, 10), []);
    });

    test("an appended event is a leaf of the next checkpoint, provable with the signer's key, from a peer too", async () => {
      const { store, peer } = context;
      const run = await createQueuedRun(store);
      const lease = await store.acquireLease({ runId: run.runId, owner: "w1", ttlMs: 30_000 });
      assert.ok(lease);
      const [appended] = await store.append({ lease, events: [stepStart(1)] });
      assert.equal(appended?.seq, 2);

      const leafIndex = await store.leafIndexOf(run.runId, 2);
      assert.equal(typeof leafIndex, "number");
      assert.equal(await peer.leafIndexOf(run.runId, 2), leafIndex);
      assert.equal(await store.leafIndexOf(run.runId, 99), null);

      const signer = await loadAuditSigner(store.sql);
      assert.ok(await createAuditCheckpoint(store.sql, { signer }));
      const latest = await peer.latestCheckpoint();
      assert.ok(latest);
      const checkpoint = parseCheckpoint(latest);
      assert.equal(latest.treeSize, checkpoint.treeSize);
      assert.ok(checkpoint.treeSize > leafIndex!);
      assert.equal(checkpoint.keyId, signer.keyId);
      const key = (await peer.auditKeys()).get(checkpoint.keyId);
      assert.ok(key);
      assert.ok(verifyCheckpointSignatureWith(latest, key));

      const rows = await store.readLeaves(leafIndex!, leafIndex! + 1);
      assert.deepEqual(
        rows.map((row) => [row.leafIndex, row.runId, row.seq, row.hash]),
        [[leafIndex, run.runId, 2, appended!.hash]],
      );
      const leafHash = hashLeaf(encodeLeaf(auditLeafOfRow(rows[0]!).leaf));
      const path = await buildInclusionProof(leafIndex!, checkpoint.treeSize, peer.subtreeHashes());
      const root = Buffer.from(checkpoint.rootHash, "hex");
      assert.ok(verifyInclusion({ index: leafIndex!, size: checkpoint.treeSize, leafHash, path, root }));
    });
  });
}
