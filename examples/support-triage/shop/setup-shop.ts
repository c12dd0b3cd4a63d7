import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { SqlClient } from "../../../src/store/store.ts";
import { readKbArticles } from "./read-kb-articles.ts";

/** Names the advisory lock that serialises setups; any stable text works, it is hashed to a lock id. */
const SETUP_LOCK = "keel:examples:support-triage:shop";

/**
 * Create the `shop` schema, seed it and load the help-centre articles from `../kb`. Idempotent, and safe to
 * call on every start from several processes at once: the work runs in one transaction under an advisory
 * lock, because concurrent `CREATE ... IF NOT EXISTS` statements can still collide in PostgreSQL's catalogs.
 */
export async function setupShop(sql: SqlClient): Promise<void> {
  const [schema, seed, articles] = await Promise.all([
    readFile(join(import.meta.dirname, "schema.sql"), "utf8"),
    readFile(join(import.meta.dirname, "seed.sql"), "utf8"),
    readKbArticles(join(import.meta.dirname, "..", "kb")),
  ]);
  await sql.transaction(async (transaction) => {
    await transaction.query("SELECT pg_advisory_xact_lock(hashtext($1))", [SETUP_LOCK]);
    for (const statement of splitStatements(`${schema}\n${seed}`)) await transaction.query(statement);
    for (const article of articles) {
      await transaction.query(
        `INSERT INTO shop.kb_articles (slug, title, body) VALUES ($1, $2, $3)
         ON CONFLICT (slug) DO UPDATE SET title = excluded.title, body = excluded.body, updated_at = now()
         WHERE (shop.kb_articles.title, shop.kb_articles.body) IS DISTINCT FROM (excluded.title, excluded.body)`,
        [article.slug, article.title, article.body],
      );
    }
    // The kb folder is the source of truth: an article whose file was deleted leaves the search too.
    await transaction.query("DELETE FROM shop.kb_articles WHERE NOT (slug = ANY($1::text[]))", [
      articles.map((article) => article.slug),
    ]);
  });
}

/**
 * Split a SQL file into statements. Both SQL clients send one statement per query (PGlite's extended
 * protocol requires it), and the shop's SQL files keep every `;` that ends a statement at the end of a line.
 */
function splitStatements(text: string): string[] {
  return text
    .replace(/^\s*--.*$/gm, "")
    .split(/;[ \t]*$/m)
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0);
}
