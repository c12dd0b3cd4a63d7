import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { openStore } from "./open-store.ts";
import { runStart } from "./store-contract-fixtures.ts";

test("opens a migrated in-memory PGlite store when given neither a URL nor a directory", async () => {
  const store = await openStore();
  try {
    assert.equal(store.kind, "pglite");
    assert.equal((await store.createRun({ runId: "run-1", start: runStart("a") })).created, true);
  } finally {
    await store.close();
  }
});

test("keeps runs in a PGlite data directory across reopening", async () => {
  const dataDir = join(mkdtempSync(join(tmpdir(), "keel-store-")), "data");
  try {
    const first = await openStore({ dataDir });
    await first.createRun({ runId: "run-kept", start: runStart("a") });
    await first.close();
    const second = await openStore({ dataDir });
    try {
      assert.equal((await second.getRun("run-kept"))?.status, "queued");
      assert.equal((await second.readEvents({ runId: "run-kept" })).length, 1);
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

const serverUrl = testDatabaseServerUrl();
test("opens a migrated PostgreSQL store when given a database URL", {
  skip: serverUrl === null ? "PostgreSQL is not installed on this machine" : false,
}, async () => {
  const store = await openStore({ databaseUrl: await createTestDatabase(serverUrl!) });
  try {
    assert.equal(store.kind, "postgres");
    assert.equal((await store.createRun({ runId: "run-1", start: runStart("a") })).created, true);
    assert.equal((await store.listRuns({})).runs.length, 1);
  } finally {
    await store.close();
  }
});
