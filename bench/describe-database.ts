import type { SqlClient } from "../src/store/store.ts";

/** The server version and the settings that decide what a commit costs. */
export type DatabaseDescription = { version: string; settings: Record<string, string> };

const DURABILITY_SETTINGS = [
  "fsync",
  "synchronous_commit",
  "full_page_writes",
  "wal_sync_method",
  "commit_delay",
  "shared_buffers",
] as const;

/** Read the settings from the database itself, so the report states what was measured, not what was meant. */
export async function describeDatabase(sql: SqlClient): Promise<DatabaseDescription> {
  const { rows } = await sql.query<{ version: string }>("SELECT version() AS version");
  const settings: Record<string, string> = {};
  for (const name of DURABILITY_SETTINGS) {
    const shown = await sql.query<Record<string, string>>(`SHOW ${name}`);
    settings[name] = Object.values(shown.rows[0] ?? {})[0] ?? "?";
  }
  return { version: rows[0]?.version ?? "?", settings };
}
