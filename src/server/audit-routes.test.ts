import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Hono } from "hono";
import { createApiKeyVerifier } from "../governance/api-key-verifier.ts";
import { createSqlApiKeyStore } from "../governance/sql-api-key-store.ts";
import { publicKeyFromRaw, verifyCheckpointSignatureWith } from "../journal/audit/checkpoint.ts";
import { verifyInclusion } from "../journal/audit/inclusion-proof.ts";
import { hashLeaf } from "../journal/audit/merkle-hash.ts";
import { createAgentCatalog } from "../runtime/agent-catalog.ts";
import { loadAuditSigner } from "../store/audit-keys.ts";
import { createAuditCheckpoint } from "../store/create-audit-checkpoint.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { createQueuedRun, runEnd, stepStart } from "../store/store-contract-fixtures.ts";
import { createApp } from "./create-app.ts";
import { createKeyRateLimiter } from "./key-rate-limiter.ts";

describe("the audit routes", () => {
  let store: SqlStore;
  let app: Hono;
  const runIds: string[] = [];

  const appendRun = async () => {
    const run = await createQueuedRun(store);
    const lease = await store.acquireLease({ runId: run.runId, owner: "test", ttlMs: 60_000 });
    await store.append({ lease: lease!, events: [stepStart(1), runEnd()] });
    runIds.push(run.runId);
  };

  before(async () => {
    store = await openStore({});
    app = createApp({ store, agents: createAgentCatalog([]), log: () => undefined });
    for (let index = 0; index < 20; index++) await appendRun();
  });
  after(async () => await store.close());

  test("before the first checkpoint: no latest checkpoint (404), and a journaled event's proof is not yet covered (409)", async () => {
    const response = await app.request("/v1/audit/checkpoints/latest");
    assert.equal(response.status, 404);
    const [first] = (await store.listRuns({ limit: 1 })).runs;
    const proof = await app.request(`/v1/audit/proof?runId=${first!.runId}&seq=1`);
    assert.equal(proof.status, 409);
    assert.match(((await proof.json()) as { error: { message: string } }).error.message, /no checkpoint yet/);
  });

  test("serve the latest checkpoint with its key, and proofs that verify against it", async () => {
    await createAuditCheckpoint(store.sql, { signer: await loadAuditSigner(store.sql) });
    const latest = (await (await app.request("/v1/audit/checkpoints/latest")).json()) as {
      checkpoint: { treeSize: number; rootHash: string; body: string; signature: string; keyId: string };
      publicKey: { keyId: string; publicKey: string };
    };
    assert.equal(latest.checkpoint.treeSize, 60);
    assert.equal(latest.publicKey.keyId, latest.checkpoint.keyId);
    assert.ok(verifyCheckpointSignatureWith(latest.checkpoint, publicKeyFromRaw(latest.publicKey.publicKey)));
    for (const [runId, seq] of [
      [runIds[0]!, 1],
      [runIds[7]!, 2],
      [runIds[19]!, 3],
    ] as const) {
      const response = await app.request(`/v1/audit/proof?runId=${runId}&seq=${seq}`);
      assert.equal(response.status, 200);
      const proof = (await response.json()) as {
        leafIndex: number;
        treeSize: number;
        leaf: string;
        leafHash: string;
        path: string[];
      };
      const leaf = JSON.parse(proof.leaf) as { runId: string; seq: number };
      assert.deepEqual([leaf.runId, leaf.seq], [runId, seq]);
      assert.equal(hashLeaf(proof.leaf).toString("hex"), proof.leafHash);
      assert.ok(
        verifyInclusion({
          index: proof.leafIndex,
          size: proof.treeSize,
          leafHash: hashLeaf(proof.leaf),
          path: proof.path.map((hash) => Buffer.from(hash, "hex")),
          root: Buffer.from(latest.checkpoint.rootHash, "hex"),
        }),
      );
    }
  });

  test("say when an event is not covered yet, and name a bad field", async () => {
    await appendRun();
    const pending = await app.request(`/v1/audit/proof?runId=${runIds.at(-1)}&seq=1`);
    assert.equal(pending.status, 409);
    assert.match(
      ((await pending.json()) as { error: { message: string } }).error.message,
      /after the latest checkpoint/,
    );
    const bad = await app.request(`/v1/audit/proof?runId=${runIds[0]}&seq=0`);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /seq/);
    assert.equal((await app.request(`/v1/audit/proof?runId=${runIds[0]}&seq=99`)).status, 404);
  });
});

describe("the audit routes with API keys", () => {
  test("show the global tree size and proofs to platform keys only, so no tenant learns another's volume", async () => {
    const store = await openStore({});
    try {
      const keys = createSqlApiKeyStore(store.sql);
      const token = async (tenant: string) =>
        (await keys.create({ tenant, roles: ["viewer"], createdBy: "test" })).token;
      const platform = await token("default");
      const tenant = await token("acme");
      const app = createApp({
        store,
        agents: createAgentCatalog([]),
        auth: {
          verifier: createApiKeyVerifier({ store: keys }),
          platformTenant: "default",
          rateLimiter: createKeyRateLimiter({ perMinute: 1_000, burst: 1_000 }),
        },
        log: () => undefined,
      });
      const run = await createQueuedRun(store);
      const lease = await store.acquireLease({ runId: run.runId, owner: "test", ttlMs: 60_000 });
      await store.append({ lease: lease!, events: [stepStart(1), runEnd()] });
      await createAuditCheckpoint(store.sql, { signer: await loadAuditSigner(store.sql) });
      const get = (key: string, path: string) =>
        app.request(path, { headers: { authorization: `Bearer ${key}` } });
      for (const path of ["/v1/audit/checkpoints/latest", `/v1/audit/proof?runId=${run.runId}&seq=1`]) {
        const refused = await get(tenant, path);
        assert.equal(refused.status, 403, path);
        assert.doesNotMatch(await refused.text(), /treeSize|leafIndex/);
        assert.equal((await get(platform, path)).status, 200, path);
      }
    } finally {
      await store.close();
    }
  });
});
