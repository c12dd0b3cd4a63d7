import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import type { GovernanceStore, StoredAgentKey } from "./governance-store.ts";
import { createMemoryGovernanceStore } from "./memory-governance-store.ts";
import { createSqlGovernanceStore } from "./sql-governance-store.ts";

type Kind = {
  name: string;
  skip: string | false;
  open(): Promise<{ store: GovernanceStore; close(): Promise<void> }>;
};

const serverUrl = testDatabaseServerUrl();
const kinds: Kind[] = [
  {
    name: "in memory",
    skip: false,
    open: async () => ({ store: createMemoryGovernanceStore(), close: async () => {} }),
  },
  {
    name: "on PGlite",
    skip: false,
    async open() {
      const sqlStore = await openStore();
      return { store: createSqlGovernanceStore(sqlStore.sql), close: () => sqlStore.close() };
    },
  },
  {
    name: "on PostgreSQL",
    skip: serverUrl === null ? "no PostgreSQL on this machine (KEEL_TEST_DATABASE_URL is not set)" : false,
    async open() {
      const sqlStore: SqlStore = await openStore({ databaseUrl: await createTestDatabase(serverUrl!) });
      return { store: createSqlGovernanceStore(sqlStore.sql), close: () => sqlStore.close() };
    },
  },
];

const key = (kid: string, version = "1.0.0"): StoredAgentKey => ({
  kid,
  agent: "support",
  version,
  publicJwk: { kty: "OKP", crv: "Ed25519", x: kid },
  privatePkcs8: `pem-${kid}`,
  revoked: false,
});

for (const kind of kinds) {
  describe(`the governance store ${kind.name}`, { skip: kind.skip }, () => {
    let store: GovernanceStore;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await kind.open());
    });
    after(async () => await close?.());

    test("keeps one live key per agent version, even when two processes create one at once", async () => {
      const [first, second] = await Promise.all([store.insertKey(key("k1")), store.insertKey(key("k2"))]);
      assert.equal(first.kid, second.kid);
      assert.deepEqual(await store.findLiveKey("support", "1.0.0"), first);
      await store.revokeKey(first.kid);
      assert.equal(await store.findLiveKey("support", "1.0.0"), null);
      assert.equal((await store.findKey(first.kid))?.revoked, true);
      const next = await store.insertKey(key("k3"));
      assert.equal(next.kid, "k3");
    });

    test("puts, lists and removes kill switches", async () => {
      await store.putKill({
        scope: "agent",
        target: "support",
        reason: "r",
        killedBy: "ops",
        killedAt: "2026-01-01T00:00:00.000Z",
      });
      await store.putKill({
        scope: "all",
        target: "*",
        reason: "r2",
        killedBy: "ops",
        killedAt: "2026-01-01T00:00:01.000Z",
      });
      assert.deepEqual(
        (await store.listKills())
          .map((kill) => `${kill.scope}:${kill.target}:${kill.reason}:${kill.killedAt}`)
          .sort(),
        ["agent:support:r:2026-01-01T00:00:00.000Z", "all:*:r2:2026-01-01T00:00:01.000Z"],
      );
      assert.equal(await store.removeKill("all", "*"), true);
      assert.equal(await store.removeKill("all", "*"), false);
      assert.equal(await store.removeKill("agent", "support"), true);
      assert.deepEqual(await store.listKills(), []);
    });

    test("records revocations once", async () => {
      await store.putRevocation({ kind: "token", value: "jti-1" });
      await store.putRevocation({ kind: "token", value: "jti-1" });
      await store.putRevocation({ kind: "run", value: "run_1" });
      assert.deepEqual(
        (await store.listRevocations()).map((revocation) => `${revocation.kind}:${revocation.value}`).sort(),
        ["run:run_1", "token:jti-1"],
      );
    });

    test("takes tokens from a bucket that refills with time", async () => {
      const bucket = { capacity: 3, refillPerMs: 1 / 1000 };
      const take = (now: number) => store.takeToken({ key: "b1", bucket, now });
      const answers = [await take(0), await take(0), await take(0), await take(0)];
      assert.deepEqual(
        answers.map((answer) => answer.allowed),
        [true, true, true, false],
      );
      assert.equal(answers[3]!.retryAfterMs, 1000);
      assert.equal((await take(500)).allowed, false);
      assert.equal((await take(1000)).allowed, true);
      assert.equal((await take(1000)).allowed, false);
      assert.equal((await take(100_000)).allowed, true);
    });

    test("never hands out more tokens than the bucket holds under concurrent takes", async () => {
      const bucket = { capacity: 10, refillPerMs: 1e-9 };
      const answers = await Promise.all(
        Array.from({ length: 40 }, () => store.takeToken({ key: "b-concurrent", bucket, now: 5 })),
      );
      assert.equal(answers.filter((answer) => answer.allowed).length, 10);
    });
  });
}
