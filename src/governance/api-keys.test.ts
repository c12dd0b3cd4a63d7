import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { testStores } from "../../test/support/test-database.ts";
import { isKeelError } from "../errors/keel-error.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { apiKeyIdOf, hashApiKeyToken } from "./api-key-secret.ts";
import { createApiKeyVerifier } from "./api-key-verifier.ts";
import { createSqlApiKeyStore } from "./sql-api-key-store.ts";

const backends = testStores();

for (const backend of backends) {
  describe(`API keys on ${backend.name}`, () => {
    let store: SqlStore;
    before(async () => {
      store = await backend.open();
    });
    after(async () => await store.close());

    test("stores only the hash of a new key, with its tenant, roles and name, and shows the secret once", async () => {
      const keys = createSqlApiKeyStore(store.sql);
      const { key, token } = await keys.create({
        tenant: "acme",
        roles: ["approver", "approver:support", "approver"],
        name: "ada@acme.test",
        createdBy: "cli",
      });
      assert.match(token, /^keel_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      assert.equal(apiKeyIdOf(token), key.keyId);
      assert.deepEqual(
        { tenant: key.tenant, roles: key.roles, name: key.name, revokedAt: key.revokedAt },
        { tenant: "acme", roles: ["approver", "approver:support"], name: "ada@acme.test", revokedAt: null },
      );
      const { rows } = await store.sql.query<Record<string, unknown>>("SELECT * FROM keel_api_keys");
      const stored = JSON.stringify(rows);
      assert.ok(!stored.includes(token.slice(22)), "the secret part is not stored");
      assert.ok(stored.includes(hashApiKeyToken(token)));
      assert.deepEqual(
        (await keys.list({ tenant: "acme" })).map((each) => each.keyId),
        [key.keyId],
      );
      assert.deepEqual(await keys.list({ tenant: "globex" }), []);
    });

    test("verifies a key, refuses a wrong secret for its id, a made-up key and a revoked key", async () => {
      const keys = createSqlApiKeyStore(store.sql);
      const { key, token } = await keys.create({ tenant: "acme", roles: ["viewer"], createdBy: "cli" });
      const verifier = createApiKeyVerifier({ store: keys, cacheMs: 0 });
      assert.deepEqual(await verifier.verify(token), {
        keyId: key.keyId,
        tenant: "acme",
        roles: ["viewer"],
        name: `key-${key.keyId}`,
      });
      const forged = `${token.slice(0, 22)}${"A".repeat(43)}`;
      assert.equal(await verifier.verify(forged), null);
      assert.equal(await verifier.verify(`keel_0000000000000000_${"B".repeat(43)}`), null);
      assert.equal(await verifier.verify("not a key"), null);
      assert.ok((await keys.find(key.keyId))?.lastUsedAt instanceof Date, "last use is recorded");
      assert.equal(
        await keys.revoke(key.keyId, { tenant: "globex" }),
        null,
        "another tenant cannot revoke it",
      );
      assert.ok((await keys.revoke(key.keyId))?.revokedAt instanceof Date);
      assert.equal(await keys.revoke(key.keyId), null, "revoking twice finds no live key");
      assert.equal(await verifier.verify(token), null);
    });

    test("answers from memory within the cache window, so a revocation elsewhere lands within it", async () => {
      const keys = createSqlApiKeyStore(store.sql);
      const { key, token } = await keys.create({ tenant: "acme", roles: ["invoker"], createdBy: "cli" });
      let clock = 0;
      let reads = 0;
      const counting = {
        find: async (keyId: string) => {
          reads++;
          return await keys.find(keyId);
        },
        touch: keys.touch,
      };
      const verifier = createApiKeyVerifier({ store: counting, cacheMs: 10_000, now: () => clock });
      assert.ok(await verifier.verify(token));
      assert.ok(await verifier.verify(token));
      assert.equal(reads, 1);
      await keys.revoke(key.keyId);
      clock = 9_999;
      assert.ok(await verifier.verify(token), "still cached");
      clock = 10_000;
      assert.equal(await verifier.verify(token), null, "read again after the window: revoked");
      assert.equal(reads, 2);
    });

    test("refuses a key without a control-plane role, with an unknown role or a bad tenant, naming the field", async () => {
      const keys = createSqlApiKeyStore(store.sql);
      const refusal = async (options: Parameters<typeof keys.create>[0], field: string) => {
        await assert.rejects(keys.create(options), (error: unknown) => {
          assert.ok(isKeelError(error, "invalid_request"));
          assert.equal(error.issues[0]?.path, field);
          return true;
        });
      };
      await refusal({ tenant: "acme", roles: ["approver:support"], createdBy: "cli" }, "roles");
      await refusal({ tenant: "acme", roles: ["root!"], createdBy: "cli" }, "roles");
      await refusal({ tenant: "Acme Corp", roles: ["admin"], createdBy: "cli" }, "tenant");
      await refusal({ tenant: "acme", roles: ["admin"], name: "<script>", createdBy: "cli" }, "name");
      assert.equal(await keys.countLive(), (await keys.list()).length);
    });
  });
}
