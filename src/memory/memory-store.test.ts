import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { testStores } from "../../test/support/test-database.ts";
import { createOfflineTextEmbedder } from "../models/index.ts";
import type { SqlStore } from "../store/index.ts";
import { MemoryStore } from "./memory-store.ts";
import { Retriever, reciprocalRankFusion } from "./retrieve.ts";

const now = new Date("2026-06-01T12:00:00Z");
const later = new Date("2026-07-01T12:00:00Z");

for (const kind of testStores()) {
  describe(`the memory store on ${kind.name}`, () => {
    let store: SqlStore;
    let memories: MemoryStore;

    before(async () => {
      store = await kind.open();
      await store.migrate();
      memories = new MemoryStore(store.sql);
    });

    after(async () => {
      await store.close();
    });

    test("full-text search finds a user's memory by any of its words, ranked by ts_rank", async () => {
      const scope = { tenant: "acme", agent: "helper", subject: "user-1" };
      await memories.insertMemory({
        scope,
        text: "Prefers to be contacted by email, never by phone.",
        dataClasses: ["internal"],
        source: "run:r1",
        expiresAt: null,
      });
      await memories.insertMemory({
        scope,
        text: "Ordered a walnut side table in March.",
        dataClasses: ["internal"],
        source: "run:r1",
        expiresAt: null,
      });
      const hits = await memories.searchMemories(
        scope,
        "How does the customer want to be contacted?",
        now,
        5,
      );
      assert.equal(hits.length, 1);
      assert.match(hits[0]!.item.text, /email/);
      assert.ok(hits[0]!.rank > 0);
    });

    test("another tenant, another agent and another person never see the memory", async () => {
      const scope = { tenant: "acme", agent: "helper", subject: "user-2" };
      await memories.insertMemory({
        scope,
        text: "Lives in Lisbon and ships gifts to Porto.",
        dataClasses: ["pii"],
        source: "run:r2",
        expiresAt: null,
      });
      const query = "Lisbon Porto";
      assert.equal((await memories.searchMemories(scope, query, now, 5)).length, 1);
      assert.equal((await memories.searchMemories({ ...scope, tenant: "globex" }, query, now, 5)).length, 0);
      assert.equal((await memories.searchMemories({ ...scope, agent: "other" }, query, now, 5)).length, 0);
      assert.equal((await memories.searchMemories({ ...scope, subject: "user-3" }, query, now, 5)).length, 0);
      assert.equal(
        await memories.deleteMemory("globex", (await memories.listMemories(scope, now))[0]!.id),
        false,
      );
    });

    test("an agent-wide memory is recalled for every user of that agent", async () => {
      await memories.insertMemory({
        scope: { tenant: "acme", agent: "helper", subject: null },
        text: "The warehouse is closed on public holidays.",
        dataClasses: ["internal"],
        source: "operator",
        expiresAt: null,
      });
      for (const subject of ["user-1", "user-9"]) {
        const hits = await memories.searchMemories(
          { tenant: "acme", agent: "helper", subject },
          "warehouse holidays",
          now,
          5,
        );
        assert.equal(hits.length, 1, subject);
      }
    });

    test("an expired memory is never returned, and the sweep deletes it", async () => {
      const scope = { tenant: "acme", agent: "retention", subject: "user-4" };
      await memories.insertMemory({
        scope,
        text: "Asked about the spring sale coupon.",
        dataClasses: ["internal"],
        source: "run:r4",
        expiresAt: new Date("2026-06-15T00:00:00Z"),
      });
      assert.equal((await memories.searchMemories(scope, "spring coupon", now, 5)).length, 1);
      assert.equal((await memories.searchMemories(scope, "spring coupon", later, 5)).length, 0);
      assert.equal((await memories.listMemories(scope, later)).length, 0);
      assert.equal(await memories.sweepExpired(later), 1);
      assert.equal((await memories.listMemories(scope, now)).length, 0);
    });

    test("knowledge-base chunks are replaced only when their file's hash changes, per tenant", async () => {
      const file = {
        tenant: "acme",
        kb: "help",
        source: "returns.md",
        fileHash: "h1",
        updatedAt: now,
        freshUntil: null,
        embeddingModel: null,
        chunks: [
          { heading: "Returns", text: "Return items within 30 days of delivery." },
          { heading: "Returns › Exceptions", text: "Gift cards cannot be returned." },
        ],
      };
      assert.equal(await memories.replaceKbFile(file), "added");
      assert.equal(await memories.replaceKbFile(file), "unchanged");
      assert.equal(
        await memories.replaceKbFile({
          ...file,
          fileHash: "h2",
          chunks: [{ heading: null, text: "Gift cards last 5 years." }],
        }),
        "replaced",
      );
      const chunks = await memories.listKbChunks("acme", "help");
      assert.deepEqual(
        chunks.map((chunk) => [chunk.source, chunk.chunkIndex, chunk.text]),
        [["returns.md", 0, "Gift cards last 5 years."]],
      );
      assert.equal((await memories.searchKb("acme", "help", "gift cards", 5)).length, 1);
      assert.equal((await memories.searchKb("globex", "help", "gift cards", 5)).length, 0);
    });

    test("hybrid retrieval fuses full-text and vector results and flags stale chunks", async () => {
      const embedder = createOfflineTextEmbedder({ dimensions: 128 });
      const texts = [
        "Refunds reach your card within 5 to 10 business days.",
        "We ship to Canada and the United Kingdom.",
      ];
      const vectors = await embedder.embed(texts);
      await memories.replaceKbFile({
        tenant: "acme",
        kb: "hybrid",
        source: "old.md",
        fileHash: "x",
        updatedAt: new Date("2025-01-01T00:00:00Z"),
        freshUntil: new Date("2025-06-01T00:00:00Z"),
        embeddingModel: embedder.model,
        chunks: [{ heading: null, text: texts[0]!, embedding: vectors[0]! }],
      });
      await memories.replaceKbFile({
        tenant: "acme",
        kb: "hybrid",
        source: "new.md",
        fileHash: "y",
        updatedAt: now,
        freshUntil: null,
        embeddingModel: embedder.model,
        chunks: [{ heading: null, text: texts[1]!, embedding: vectors[1]! }],
      });
      const retriever = new Retriever(memories, embedder);
      const refund = await retriever.searchKb({
        tenant: "acme",
        kb: "hybrid",
        query: "refund card",
        limit: 2,
        now,
      });
      assert.equal(refund[0]!.chunk.source, "old.md");
      assert.equal(refund[0]!.stale, true);
      const vectorOnly = await retriever.searchKb({
        tenant: "acme",
        kb: "hybrid",
        query: "shipping to canada",
        limit: 1,
        mode: "vector",
        now,
      });
      assert.equal(vectorOnly[0]!.chunk.source, "new.md");
      assert.equal(vectorOnly[0]!.stale, false);
    });
  });
}

test("reciprocal-rank fusion ranks an item found by both lists above items found by one", () => {
  const fused = reciprocalRankFusion(
    [
      ["a", "b", "c"],
      ["c", "d"],
    ],
    (item) => item,
  );
  assert.equal(fused[0]!.item, "c");
  assert.deepEqual(fused.map((entry) => entry.item).sort(), ["a", "b", "c", "d"]);
  assert.ok(Math.abs(fused[0]!.score - (1 / 63 + 1 / 61)) < 1e-12);
});
