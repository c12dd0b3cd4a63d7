import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { postgresSqlClient } from "../../../src/store/postgres-sql-client.ts";
import type { SqlClient } from "../../../src/store/store.ts";
import { type ShopDatabase, shopDatabaseKinds } from "../test-shop-databases.ts";
import { readKbArticles } from "./read-kb-articles.ts";
import { setupShop } from "./setup-shop.ts";

const KB_DIRECTORY = join(import.meta.dirname, "..", "kb");

async function countRows(sql: SqlClient): Promise<Record<string, number>> {
  const tables = ["customers", "orders", "order_items", "refunds", "tickets", "outbox_emails", "kb_articles"];
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const { rows } = await sql.query<{ count: number }>(`SELECT count(*)::int AS count FROM shop.${table}`);
    counts[table] = rows[0]!.count;
  }
  return counts;
}

for (const kind of shopDatabaseKinds()) {
  describe(`setupShop ${kind.name}`, { skip: kind.skip }, () => {
    let database: ShopDatabase;
    before(async () => {
      database = await kind.open();
      await setupShop(database.sql);
    });
    after(async () => await database?.close());

    test("creates the shop with its seed orders and every help-centre article", async () => {
      const counts = await countRows(database.sql);
      assert.equal(counts.customers, 12);
      assert.equal(counts.orders, 50);
      assert.equal(counts.refunds, 2);
      assert.equal(counts.kb_articles, (await readKbArticles(KB_DIRECTORY)).length);
      const { rows } = await database.sql.query<{ status: string; tracking_number: string | null }>(
        "SELECT status, tracking_number FROM shop.orders WHERE id = 1042",
      );
      assert.deepEqual(rows, [{ status: "shipped", tracking_number: "1ZLH42A80312104284" }]);
    });

    test("seeds one order in each state the examples name", async () => {
      const { rows } = await database.sql.query<{ id: number; status: string; payment_status: string }>(
        "SELECT id, status, payment_status FROM shop.orders WHERE id IN (1038, 1042, 1043, 1045, 1047) ORDER BY id",
      );
      assert.deepEqual(
        rows.map((row) => `${row.id} ${row.status} ${row.payment_status}`),
        [
          "1038 delivered paid",
          "1042 shipped paid",
          "1043 cancelled voided",
          "1045 processing paid",
          "1047 processing pending",
        ],
      );
    });

    test("keeps every order's total equal to the sum of its items", async () => {
      const { rows } = await database.sql.query<{ id: number }>(
        `SELECT o.id FROM shop.orders o
         LEFT JOIN shop.order_items i ON i.order_id = o.id
         GROUP BY o.id, o.total_cents
         HAVING o.total_cents <> coalesce(sum(i.quantity * i.unit_price_cents), 0)`,
      );
      assert.deepEqual(rows, []);
    });

    test("is idempotent: running it again changes nothing and keeps later writes", async () => {
      await database.sql.query(
        "INSERT INTO shop.tickets (subject, body, priority, idempotency_key) VALUES ('s', 'b', 'low', 'setup-test')",
      );
      const before = await countRows(database.sql);
      await setupShop(database.sql);
      await setupShop(database.sql);
      assert.deepEqual(await countRows(database.sql), before);
    });

    test("brings the help-centre table back in line with the kb folder", async () => {
      await database.sql.query("UPDATE shop.kb_articles SET title = 'Stale title' WHERE slug = 'refunds'");
      await database.sql.query(
        "INSERT INTO shop.kb_articles (slug, title, body) VALUES ('deleted-article', 'Gone', 'This file was deleted.')",
      );
      await setupShop(database.sql);
      const { rows } = await database.sql.query<{ slug: string; title: string }>(
        "SELECT slug, title FROM shop.kb_articles WHERE slug IN ('refunds', 'deleted-article')",
      );
      assert.deepEqual(rows, [{ slug: "refunds", title: "How long does a refund take?" }]);
    });
  });

  describe(`setupShop from two connections at once ${kind.name}`, { skip: kind.skip }, () => {
    test("both setups succeed and the shop is created once", async () => {
      const database = await kind.open();
      // PostgreSQL: a second pool stands in for a second process. PGlite has one connection per instance.
      const second = database.url ? new pg.Pool({ connectionString: database.url, max: 2 }) : null;
      try {
        await Promise.all([
          setupShop(database.sql),
          setupShop(second ? postgresSqlClient(second) : database.sql),
        ]);
        const counts = await countRows(database.sql);
        assert.equal(counts.orders, 50);
        assert.equal(counts.refunds, 2);
      } finally {
        await second?.end();
        await database.close();
      }
    });
  });
}

describe("readKbArticles", () => {
  test("reads the slug from the file name and the title from the first line", async () => {
    const articles = await readKbArticles(KB_DIRECTORY);
    assert.equal(articles.length, 12);
    const refunds = articles.find((article) => article.slug === "refunds");
    assert.equal(refunds?.title, "How long does a refund take?");
    assert.ok(refunds?.body.startsWith("Once we issue a refund"));
  });

  test("rejects an article without a title line, naming the file", async () => {
    const directory = await mkdtemp(join(tmpdir(), "kb-"));
    try {
      await writeFile(join(directory, "untitled.md"), "No title here.\n");
      await assert.rejects(
        readKbArticles(directory),
        /untitled\.md:1: an article must start with a "# Title" line/,
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
