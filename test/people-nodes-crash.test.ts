import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { decideApproval } from "../src/approvals/decide-approval.ts";
import type { JournalEvent } from "../src/journal/events.ts";
import { verifyChain } from "../src/journal/verify-chain.ts";
import { openStore } from "../src/store/open-store.ts";
import { launchCrashChild, nextLine } from "./support/crash-process.ts";
import { createTestDatabase, testDatabaseServerUrl } from "./support/test-database.ts";

// A workflow worker SIGKILLed at the boundaries of the nodes that wait on people and hand work on — suspended on an
// approval node's task, and inside the side effect of the agent a handoff node started — then resumed by fresh
// processes from the store alone, on PGlite and on PostgreSQL. The person decides between the two kills.

const child = new URL("./support/people-crash-child.ts", import.meta.url).pathname;

async function killAt(mode: string, target: string, args: string[], crashAt: string): Promise<string | null> {
  const worker = launchCrashChild(child, [mode, target, ...args], crashAt);
  const runId = args[0] === "start" ? await nextLine(worker.lines, "RUN ") : null;
  await nextLine(worker.lines, "HANGING");
  const killed = new Promise((resolve) => worker.process.once("exit", resolve));
  worker.process.kill("SIGKILL");
  await killed;
  return runId;
}

const stores: { name: "pglite" | "postgres"; target: () => Promise<string | null> }[] = [
  { name: "pglite", target: async () => mkdtempSync(join(tmpdir(), "keel-people-crash-")) },
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
describe("approval and handoff nodes across SIGKILLs, on each store", { concurrency: true }, () => {
  for (const { name, target } of stores) {
    describe(`approval and handoff nodes across SIGKILLs (${name})`, { concurrency: 1 }, () => {
      test("a task asked once and decided while no worker runs; a handed-over child found again and its effect reconciled, not repeated", async (t) => {
        const where = await target();
        if (!where) {
          t.skip("PostgreSQL is not installed");
          return;
        }
        const open = async () =>
          await openStore(name === "postgres" ? { databaseUrl: where } : { dataDir: where });
        try {
          // 1. Killed while the run waits on the person's task.
          const runId = (await killAt(name, where, ["start"], "signoff"))!;
          // 2. The person decides with no worker running: the decision is journaled and the run made runnable.
          let store = await open();
          try {
            const [task] = await store.listApprovals({ runId, status: "pending" });
            assert.equal(task?.kind, "task");
            await decideApproval({
              store,
              approvalId: task!.approvalId,
              input: {
                decision: "approve",
                approver: {
                  subject: "lead@example.com",
                  tenant: "default",
                  roles: ["approver:support-leads"],
                },
                argumentsHash: task!.argumentsHash!,
                values: { refund: true },
              },
            });
          } finally {
            await store.close();
          }
          // 3. A new process resumes it, hands over to the closer, and is killed inside the closer's side effect.
          await killAt(name, where, ["resume", runId], "handover");
          // 4. A third finishes both runs.
          const last = launchCrashChild(child, [name, where, "resume", runId], "");
          const status = await nextLine(last.lines, "END ");
          await new Promise((resolve) => last.process.once("exit", resolve));
          assert.equal(status, "completed");

          store = await open();
          try {
            const events = await store.readEvents({ runId });
            const ofType = (type: JournalEvent["type"]) => events.filter((event) => event.type === type);
            assert.equal(ofType("approval-request").length, 1, "the person was asked once");
            assert.deepEqual(
              events.flatMap((event) => (event.type === "node-start" ? [event.payload.node] : [])),
              ["signoff", "handover"],
              "no node was entered twice",
            );
            const signoff = events.find(
              (event) => event.type === "node-end" && event.payload.node === "signoff",
            );
            assert.deepEqual(signoff?.type === "node-end" && signoff.payload.output, { refund: true });
            const children = await store.listChildren({ runId });
            assert.equal(children.length, 1, "one child, however often the handoff node ran");
            assert.equal(children[0]?.status, "completed");
            assert.equal(children[0]?.answer, "case closed");
            const handover = events.find(
              (event) => event.type === "node-end" && event.payload.node === "handover",
            );
            assert.equal(
              handover?.type === "node-end" &&
                (handover.payload.output as { handoff: { runId: string } }).handoff.runId,
              children[0]?.runId,
            );
            const childEvents = await store.readEvents({ runId: children[0]!.runId });
            const closed = childEvents.find((event) => event.type === "tool-call-end");
            assert.ok(closed?.type === "tool-call-end" && closed.payload.reconciled === true, "reconciled");
            const { rows } = await store.sql.query<{ effects: number; executions: number }>(
              `SELECT (SELECT count(*)::int FROM people_effects) AS effects,
                    (SELECT count(*)::int FROM people_executions) AS executions`,
            );
            assert.deepEqual(
              rows[0],
              { effects: 1, executions: 1 },
              "the case was closed once, by one execution",
            );
            assert.equal(verifyChain(events).ok, true);
            assert.equal(verifyChain(childEvents).ok, true);
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
