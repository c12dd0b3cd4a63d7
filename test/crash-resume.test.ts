import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { verifyChain } from "../src/journal/verify-chain.ts";
import { openStore } from "../src/store/open-store.ts";
import { launchCrashChild, nextLine } from "./support/crash-process.ts";
import { createTestDatabase, testDatabaseServerUrl } from "./support/test-database.ts";

const child = new URL("./support/crash-child.ts", import.meta.url).pathname;

async function crashAndResume(mode: "pglite" | "postgres", target: string, crashAt: "between" | "charge") {
  const first = launchCrashChild(child, [mode, target, "start"], crashAt);
  const runId = await nextLine(first.lines, "RUN ");
  await nextLine(first.lines, "HANGING");
  const killed = new Promise((resolve) => first.process.once("exit", resolve));
  first.process.kill("SIGKILL");
  await killed;

  const second = launchCrashChild(child, [mode, target, "resume", runId], "");
  const status = await nextLine(second.lines, "END ");
  await new Promise((resolve) => second.process.once("exit", resolve));

  const store = await openStore(mode === "postgres" ? { databaseUrl: target } : { dataDir: target });
  try {
    const effects = await store.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM crash_effects");
    const executions = await store.sql.query<{ tool: string; n: number }>(
      "SELECT tool, count(*)::int AS n FROM crash_executions GROUP BY tool ORDER BY tool",
    );
    const events = await store.readEvents({ runId });
    return {
      status,
      effects: effects.rows[0]!.n,
      executions: Object.fromEntries(executions.rows.map((row) => [row.tool, row.n])),
      events,
    };
  } finally {
    await store.close();
  }
}

const stores: { name: "pglite" | "postgres"; target: () => Promise<string | null> }[] = [
  { name: "pglite", target: async () => mkdtempSync(join(tmpdir(), "keel-crash-")) },
  {
    name: "postgres",
    target: async () => {
      const server = testDatabaseServerUrl();
      return server ? await createTestDatabase(server) : null;
    },
  },
];

// Each store's runs use their own directory or database and share nothing: the two stores run side by side, each
// store's tests one after another.
describe("a worker killed mid-run, on each store", { concurrency: true }, () => {
  for (const { name, target } of stores) {
    describe(`a worker killed mid-run (${name})`, { concurrency: 1 }, () => {
      test("resumes after SIGKILL between two tool calls with the first side effect applied exactly once", async (t) => {
        const where = await target();
        if (!where) return t.skip("PostgreSQL is not installed");
        try {
          const outcome = await crashAndResume(name, where, "between");
          assert.equal(outcome.status, "completed");
          assert.equal(outcome.effects, 1);
          assert.deepEqual(outcome.executions, { charge: 1, notify: 2 });
          assert.equal(verifyChain(outcome.events).ok, true);
          assert.ok(outcome.events.some((event) => event.type === "run-resume"));
        } finally {
          if (name === "pglite") rmSync(where, { recursive: true, force: true });
        }
      });

      test("retries a call killed after its side effect with the same key, so the effect still lands once", async (t) => {
        const where = await target();
        if (!where) return t.skip("PostgreSQL is not installed");
        try {
          const outcome = await crashAndResume(name, where, "charge");
          assert.equal(outcome.status, "completed");
          assert.equal(outcome.effects, 1, "one charge despite two executions");
          assert.deepEqual(outcome.executions, { charge: 2, notify: 1 });
        } finally {
          if (name === "pglite") rmSync(where, { recursive: true, force: true });
        }
      });
    });
  }
});
