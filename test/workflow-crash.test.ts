import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { JournalEvent } from "../src/journal/events.ts";
import { verifyChain } from "../src/journal/verify-chain.ts";
import { openStore } from "../src/store/open-store.ts";
import { launchCrashChild, nextLine } from "./support/crash-process.ts";
import { createTestDatabase, testDatabaseServerUrl } from "./support/test-database.ts";

// A workflow worker SIGKILLed at each kind of node boundary — inside a side-effecting tool call, inside a decide
// node's model call, while suspended on a durable timer, and inside a second side effect after the first finished —
// then resumed by a fresh process from the store alone, on PGlite and on PostgreSQL.

const child = new URL("./support/workflow-crash-child.ts", import.meta.url).pathname;

type Outcome = {
  status: string;
  answer: string | null;
  effects: Record<string, number>;
  executions: Record<string, number>;
  events: JournalEvent[];
};

async function crashAndResume(
  mode: "pglite" | "postgres",
  target: string,
  crashAt: string,
): Promise<Outcome> {
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
    const count = async (table: string) => {
      const { rows } = await store.sql.query<{ tool: string; n: number }>(
        `SELECT tool, count(*)::int AS n FROM ${table} GROUP BY tool ORDER BY tool`,
      );
      return Object.fromEntries(rows.map((row) => [row.tool, row.n]));
    };
    return {
      status,
      answer: (await store.getRun(runId))?.answer ?? null,
      effects: await count("crash_effects"),
      executions: await count("crash_executions"),
      events: await store.readEvents({ runId }),
    };
  } finally {
    await store.close();
  }
}

const ofType = (events: readonly JournalEvent[], type: JournalEvent["type"]) =>
  events.filter((event) => event.type === type);

/** The nodes entered, in order: a node entered twice means it was run twice. */
const nodesEntered = (events: readonly JournalEvent[]) =>
  events.flatMap((event) => (event.type === "node-start" ? [event.payload.node] : []));

const stores: { name: "pglite" | "postgres"; target: () => Promise<string | null> }[] = [
  { name: "pglite", target: async () => mkdtempSync(join(tmpdir(), "keel-workflow-crash-")) },
  {
    name: "postgres",
    target: async () => {
      const server = testDatabaseServerUrl();
      return server ? await createTestDatabase(server) : null;
    },
  },
];

const FULL_PATH = ["lookup", "charge", "route", "pause", "notify", "done"];

// Each store's runs use their own directory or database and share nothing: the two stores run side by side, each
// store's tests one after another.
describe("a workflow worker killed at each node boundary, on each store", { concurrency: true }, () => {
  for (const { name, target } of stores) {
    describe(`a workflow worker killed at a node boundary (${name})`, { concurrency: 1 }, () => {
      async function crashed(t: { skip(message: string): void }, crashAt: string): Promise<Outcome | null> {
        const where = await target();
        if (!where) {
          t.skip("PostgreSQL is not installed");
          return null;
        }
        try {
          return await crashAndResume(name, where, crashAt);
        } finally {
          if (name === "pglite") rmSync(where, { recursive: true, force: true });
        }
      }

      /** What every crash must leave: the run completed down the whole path, each effect once, the chain intact. */
      function assertCompletedOnce(outcome: Outcome): void {
        assert.equal(outcome.status, "completed");
        assert.equal(outcome.answer, "charged 1250, route notify");
        assert.deepEqual(outcome.effects, { charge: 1, notify: 1 });
        assert.equal(verifyChain(outcome.events).ok, true);
        assert.equal(ofType(outcome.events, "timer-fire").length, 1, "the timer fired once");
      }

      test("inside a side-effecting tool node after its effect: reconciled on resume, never applied or run again", async (t) => {
        const outcome = await crashed(t, "charge");
        if (!outcome) return;
        assertCompletedOnce(outcome);
        assert.deepEqual(outcome.executions, { charge: 1, lookup_order: 1, notify: 1 });
        assert.deepEqual(nodesEntered(outcome.events), FULL_PATH, "no node was entered twice");
        const charged = outcome.events.flatMap((event) =>
          event.type === "tool-call-end" && event.payload.callId === "charge.1" ? [event.payload] : [],
        );
        assert.equal(charged[0]?.reconciled, true, "the interrupted charge was reconciled, not run again");
      });

      test("inside a decide node's model call: the decision is asked again, the finished nodes before it are not re-run", async (t) => {
        const outcome = await crashed(t, "decide");
        if (!outcome) return;
        assertCompletedOnce(outcome);
        assert.deepEqual(outcome.executions, { charge: 1, lookup_order: 1, notify: 1 });
        assert.deepEqual(nodesEntered(outcome.events), FULL_PATH);
      });

      test("while suspended on a durable timer: a new process fires the timer once and goes on", async (t) => {
        const outcome = await crashed(t, "wait");
        if (!outcome) return;
        assertCompletedOnce(outcome);
        assert.deepEqual(outcome.executions, { charge: 1, lookup_order: 1, notify: 1 });
        assert.deepEqual(nodesEntered(outcome.events), FULL_PATH);
        const suspends = ofType(outcome.events, "run-suspend");
        assert.equal(suspends.length, 1, "the wait was journaled once, before the kill");
      });

      test("inside the second side effect after the first finished: the first is not run again", async (t) => {
        const outcome = await crashed(t, "notify");
        if (!outcome) return;
        assertCompletedOnce(outcome);
        assert.deepEqual(outcome.executions, { charge: 1, lookup_order: 1, notify: 1 });
        assert.deepEqual(nodesEntered(outcome.events), FULL_PATH);
      });
    });
  }
});
