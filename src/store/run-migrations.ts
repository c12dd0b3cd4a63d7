import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { KeelError } from "../errors/index.ts";
import type { StoreDriver } from "./store-driver.ts";

/** One SQL file from `migrations/`, applied once in name order. */
export type Migration = { id: string; sql: string; checksum: string };

const MIGRATIONS_DIRECTORY = new URL("./migrations/", import.meta.url);

/**
 * Every process migrates under this advisory lock, so two starting at once apply each file exactly once.
 * A constant rather than hashtext(): it must not depend on the server's hash function.
 */
const MIGRATION_LOCK_KEY = 4_711_203_001;

/** The migration files shipped with Keel, in the order they apply. */
export async function loadMigrations(): Promise<Migration[]> {
  const names = (await readdir(MIGRATIONS_DIRECTORY)).filter((name) => name.endsWith(".sql")).sort();
  return await Promise.all(
    names.map(async (name) => {
      const sql = await readFile(new URL(name, MIGRATIONS_DIRECTORY), "utf8");
      // Line endings are normalised first so a Windows checkout does not look like an edited migration.
      const checksum = createHash("sha256").update(sql.replaceAll("\r\n", "\n")).digest("hex");
      return { id: name.replace(/\.sql$/, ""), sql, checksum };
    }),
  );
}

/**
 * Apply pending migrations in one transaction, recorded in `keel_migrations`. Safe to run on every start and
 * from many processes at once: the transaction-scoped advisory lock makes later callers wait, then find
 * nothing to do. A file changed after it was applied is refused rather than silently skipped.
 */
export async function runMigrations(driver: StoreDriver): Promise<{ applied: string[] }> {
  const migrations = await loadMigrations();
  return await driver.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
    await tx.exec(
      `CREATE TABLE IF NOT EXISTS keel_migrations (
         id text PRIMARY KEY,
         checksum text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
       )`,
    );
    const { rows } = await tx.query<{ id: string; checksum: string }>(
      "SELECT id, checksum FROM keel_migrations",
    );
    const done = new Map(rows.map((row) => [row.id, row.checksum]));
    const applied: string[] = [];
    for (const migration of migrations) {
      const checksum = done.get(migration.id);
      if (checksum !== undefined) {
        if (checksum !== migration.checksum) {
          throw new KeelError(
            "internal",
            `migration ${migration.id} was changed after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      await tx.exec(migration.sql);
      await tx.query("INSERT INTO keel_migrations (id, checksum) VALUES ($1, $2)", [
        migration.id,
        migration.checksum,
      ]);
      applied.push(migration.id);
    }
    return { applied };
  });
}
