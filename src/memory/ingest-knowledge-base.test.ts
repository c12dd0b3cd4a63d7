import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { testStores } from "../../test/support/test-database.ts";
import { createOfflineTextEmbedder } from "../models/index.ts";
import type { SqlStore } from "../store/index.ts";
import { chunkDocument, htmlToMarkdown } from "./chunk-document.ts";
import { ingestKnowledgeBase } from "./ingest-knowledge-base.ts";
import { MemoryStore } from "./memory-store.ts";

test("Markdown is chunked at headings with their path, paragraphs packed under the size cap", () => {
  const long = `${"A sentence about returns. ".repeat(30)}`.trim();
  const { chunks, frontMatter } = chunkDocument(
    `---\nupdatedAt: 2026-01-02\n---\n# Returns\n\nIntro.\n\n## Exceptions\n\nGift cards.\n\n${long}\n\n# Refunds\n\nFast.\n`,
    "markdown",
    300,
  );
  assert.deepEqual(frontMatter, { updatedAt: "2026-01-02" });
  assert.deepEqual(
    chunks.map((chunk) => chunk.heading),
    ["Returns", "Returns › Exceptions", "Returns › Exceptions", "Returns › Exceptions", "Refunds"],
  );
  assert.ok(chunks.every((chunk) => chunk.text.length <= 300));
  assert.equal(chunks.filter((chunk) => chunk.text.includes("A sentence about returns.")).length, 3);
});

test("HTML keeps its headings and text and drops scripts, styles and tags", () => {
  const text = htmlToMarkdown(
    "<h2>Gift &amp; cards</h2><style>p{}</style><p>Never <b>expire</b>.</p><script>x()</script><ul><li>One</li></ul>",
  );
  assert.match(text, /## Gift & cards/);
  assert.match(text, /Never expire\./);
  assert.match(text, /- One/);
  assert.doesNotMatch(text, /x\(\)|p\{\}|<b>/);
});

for (const kind of testStores()) {
  describe(`knowledge-base ingestion on ${kind.name}`, () => {
    let store: SqlStore;
    before(async () => {
      store = await kind.open();
    });
    after(async () => {
      await store.close();
    });

    test("an emptied file loses its chunks instead of being re-added on every run, and embeddings are stored with their model", async () => {
      const dir = await mkdtemp(join(tmpdir(), "keel-ingest-"));
      await writeFile(join(dir, "a.md"), "# A\n\nSome text about gift cards.\n");
      const memories = new MemoryStore(store.sql);
      const embedder = createOfflineTextEmbedder({ dimensions: 32 });
      const ingest = () =>
        ingestKnowledgeBase({ store: memories, tenant: "t1", kb: "kb", directory: dir, embedder });
      assert.deepEqual(
        (await ingest()).files.map((file) => file.outcome),
        ["added"],
      );
      const vectors = await memories.kbVectors("t1", "kb", embedder.model);
      assert.equal(vectors.length, 1);
      assert.equal(vectors[0]!.vector.length, 32);
      await writeFile(join(dir, "a.md"), "\n");
      assert.deepEqual(
        (await ingest()).files.map((file) => file.outcome),
        ["empty"],
      );
      assert.deepEqual(await memories.listKbChunks("t1", "kb"), []);
      assert.deepEqual(
        (await ingest()).files.map((file) => file.outcome),
        ["empty"],
      );
    });
  });
}
