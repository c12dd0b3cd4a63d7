import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { verifyChain } from "../src/journal/verify-chain.ts";
import { openStore } from "../src/store/open-store.ts";
import { launchCrashChild, nextLine } from "./support/crash-process.ts";
import { createTestDatabase, testDatabaseServerUrl } from "./support/test-database.ts";

const child = new URL("./support/fan-out-crash-child.ts", import.meta.url).pathname;

const stores: { name: "pglite" | "postgres"; target: () => Promise<string | null> }[] = [
  { name: "pglite", target: async () => mkdtempSync(join(tmpdir(), "keel-fan-crash-")) },
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
describe("a worker killed mid-fan-out, on each store", { concurrency: true }, () => {
  for (const { name, target } of stores) {
    describe(`a worker killed mid-fan-out (${name})`, { concurrency: 1 }, () => {
      test("resumes after SIGKILL with finished branches not re-run and every side effect applied once", async (t) => {
        const where = await target();
        if (!where) return t.skip("PostgreSQL is not installed");
        try {
          const first = launchCrashChild(child, [name, where, "start"], "fan");
          const runId = await nextLine(first.lines, "RUN ");
          await nextLine(first.lines, "HANGING");
          const killed = new Promise((resolve) => first.process.once("exit", resolve));
          first.process.kill("SIGKILL");
          await killed;

          const second = launchCrashChild(child, [name, where, "resume", runId], "");
          const status = await nextLine(second.lines, "END ");
          await new Promise((resolve) => second.process.once("exit", resolve));
          assert.equal(status, "completed");

          const store = await openStore(name === "postgres" ? { databaseUrl: where } : { dataDir: where });
          try {
            const executions = await store.sql.query<{ name: string; n: number }>(
              "SELECT name, count(*)::int AS n FROM fan_executions GROUP BY name ORDER BY name",
            );
            // a finished before the kill and c's effect was found by its reconcile hook: neither ran again. b's
            // child run is the one child (its key found it again), and its own call ran once.
            assert.deepEqual(Object.fromEntries(executions.rows.map((row) => [row.name, row.n])), {
              a: 1,
              b: 1,
              c: 1,
            });
            const effects = await store.sql.query<{ n: number }>(
              "SELECT count(*)::int AS n FROM fan_effects",
            );
            assert.equal(effects.rows[0]!.n, 3);
            assert.equal((await store.listChildren({ runId })).length, 1);
            const events = await store.readEvents({ runId });
            assert.equal(verifyChain(events).ok, true);
            const answer = (await store.getRun(runId))?.answer ?? "[]";
            assert.deepEqual([...(JSON.parse(answer) as string[])].sort(), ["a", "b", "c"]);
            const reconciled = events.find(
              (event) => event.type === "tool-call-end" && event.payload.callId === "fan.1.c",
            );
            assert.ok(reconciled?.type === "tool-call-end" && reconciled.payload.reconciled === true);
          } finally {
            await store.close();
          }
        } finally {
          if (name === "pglite") rmSync(where, { recursive: true, force: true });
        }
      });
    });
  }
});
