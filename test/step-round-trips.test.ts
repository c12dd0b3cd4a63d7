import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { z } from "zod";
import { startRun } from "../src/runtime/start-run.ts";
import { createWorker } from "../src/runtime/worker.ts";
import { FENCED_APPEND_ONE_SQL, FENCED_APPEND_SQL } from "../src/store/fenced-append.ts";
import type { SqlStore } from "../src/store/sql-store.ts";
import { defineTool } from "../src/tools/tool.ts";
import { loggedStores, type StatementLog } from "./support/logged-stores.ts";
import { scriptedAgent } from "./support/scripted-agent.ts";
import { testGovernor } from "./support/test-governor.ts";

/** Tool-calling steps of the run under test; every step between two tool calls is counted. */
const STEPS = 6;

/**
 * A step's cost as the design sets it. With a side-effecting tool, the decision (model turn, proposal, policy
 * decision, call start) and the tool's result are each one fenced statement in autocommit — two round trips, two
 * commits, no BEGIN, no lock read. With a read-only tool, all of it is one fenced statement after the tool returns.
 * A step that grows a statement, a transaction or a round trip fails here, not only in a benchmark.
 */

const stores = loggedStores();

/**
 * Run one agent of STEPS tool-calling steps and a final answer on `store`; return the statements each step sent
 * (between one tool call and the next).
 */
async function statementsPerStep(
  store: SqlStore,
  log: StatementLog,
  sideEffect: boolean,
): Promise<{ steps: string[][]; end: string[]; created: string[] }> {
  // Where the log stood at each tool call: a step is the span between two consecutive calls.
  const marks: number[] = [];
  const echo = defineTool({
    name: "echo",
    description: "Return the step it was given.",
    input: z.object({ step: z.number().int() }),
    sideEffect,
    async execute({ step }) {
      marks.push(log.length);
      return { step };
    },
  });
  const agent = scriptedAgent({
    tools: [echo],
    maxSteps: STEPS + 1,
    turns: [
      ...Array.from({ length: STEPS }, (_, index) => ({
        kind: "tool-calls" as const,
        calls: [{ callId: `call_${index + 1}`, tool: "echo", arguments: { step: index + 1 } }],
      })),
      { kind: "answer" as const, text: "done" },
    ],
  });
  const worker = createWorker({
    store,
    agents: (agentName) => (agentName === agent.name ? agent : undefined),
    governor: await testGovernor([agent]),
    owner: "round-trips",
    // One run at a time: the claim loop then sleeps while the run is interpreted, and sends nothing.
    concurrency: 1,
    // Long enough that no renewal falls inside the run.
    leaseTtlMs: 60_000,
  });
  const starting = log.length;
  worker.start();
  let created: string[] = [];
  try {
    // The worker's first wait for work subscribes the store (LISTEN, then its row in `keel_listeners`, in a
    // transaction). Let that finish before the run starts: on a loaded machine it otherwise lands inside a step.
    for (let waited = 0; !listenerRegistered(log.slice(starting)); waited += 1) {
      assert.ok(waited < 500, "the worker did not start listening in 5 s");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const creating = log.length;
    const { run } = await startRun({
      store,
      agent,
      input: "count",
      principal: { subject: "test", tenant: "default", roles: [] },
    });
    created = log.slice(creating);
    // Waiting reads nothing from the store, so the log holds the worker's statements only.
    for (let waited = 0; agent.modelCalls() <= STEPS || worker.activeRuns > 0; waited += 1) {
      assert.ok(waited < 500, "the run did not finish in 5 s");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal((await store.getRun(run.runId))?.status, "completed");
  } finally {
    await worker.stop();
  }
  assert.equal(marks.length, STEPS);
  return {
    steps: Array.from({ length: STEPS - 1 }, (_, index) => log.slice(marks[index], marks[index + 1])),
    // From the last tool call to the lease's release: the call's end, the answer and the run's end.
    end: log.slice(marks[STEPS - 1]),
    created,
  };
}

/** Whether the statements hold a store's listener registration, committed. */
function listenerRegistered(statements: readonly string[]): boolean {
  const registered = statements.findIndex((sql) => sql.includes("INSERT INTO keel_listeners"));
  return registered >= 0 && statements.slice(registered).some((sql) => sql.trim() === "COMMIT");
}

function assertFencedAppends(steps: readonly string[][], expected: number): void {
  for (const [index, statements] of steps.entries()) {
    assert.equal(
      statements.length,
      expected,
      `step ${index + 1} sent ${statements.length} statements:\n${statements.map((sql) => sql.slice(0, 80)).join("\n")}`,
    );
    for (const sql of statements) {
      // One run at a time: the fenced statement's one-run form.
      assert.equal(
        sql,
        FENCED_APPEND_ONE_SQL,
        `step ${index + 1} sent a statement that is not a fenced append`,
      );
    }
  }
}

for (const { name, open } of stores) {
  describe(`a durable step on ${name}`, () => {
    const log: StatementLog = [];
    const opened: SqlStore[] = [];
    after(async () => {
      for (const store of opened) await store.close();
    });

    test("with a read-only tool costs one round trip and one commit: its start rides with its end in one fenced statement", async () => {
      const store = await open(log);
      opened.push(store);
      await store.migrate();
      const before = store.stats.fencedCommits;
      const { steps, end, created } = await statementsPerStep(store, log, false);
      assertFencedAppends(steps, 1);
      // The run's creation (no parent, session or subject): one statement in autocommit writes the run, its
      // `run-start`, its place in the audit queue and the wake-up. (The worker may already be claiming and running
      // it meanwhile: its statements are in the same stretch of the log.)
      const inserts = created.filter((sql) => /INSERT INTO keel_runs/.test(sql));
      assert.equal(inserts.length, 1, created.join("\n"));
      assert.match(inserts[0]!, /^WITH run AS \(\s*INSERT INTO keel_runs/);
      for (const part of [
        "INSERT INTO keel_event_batches",
        "INSERT INTO keel_audit_pending",
        "keel_notify",
      ]) {
        assert.ok(inserts[0]!.includes(part), `the creating statement lacks ${part}`);
      }
      // A run without a parent ends in the fenced statement too: the last call's end, the answer and `run-end` in
      // one, then the lease's release. No transaction.
      const released = end.findIndex((sql) =>
        /^WITH released AS \(\s*UPDATE keel_runs SET lease_owner = NULL/.test(sql),
      );
      assert.ok(released > 0, end.join("\n"));
      assert.deepEqual(
        end.slice(0, released).map((sql) => (sql === FENCED_APPEND_ONE_SQL ? "fenced" : sql.slice(0, 60))),
        ["fenced", "fenced"],
      );
      assert.ok(store.stats.fencedCommits - before >= STEPS - 1);
    });

    test("with a side-effecting tool costs two round trips and two commits: the call's start is durable before it runs", async () => {
      const store = await open(log);
      opened.push(store);
      await store.migrate();
      const before = store.stats.fencedCommits;
      assertFencedAppends((await statementsPerStep(store, log, true)).steps, 2);
      assert.ok(store.stats.fencedCommits - before >= 2 * (STEPS - 1));
    });

    test("appends of several runs in one tick share one fenced statement, of the many-run form", async () => {
      const store = await open(log);
      opened.push(store);
      await store.migrate();
      const principal = { subject: "test", tenant: "default", roles: [] };
      const agent = scriptedAgent({ tools: [], turns: [{ kind: "answer" as const, text: "done" }] });
      for (const input of ["one", "two"]) await startRun({ store, agent, input, principal });
      const leases = await store.claimRuns({ owner: "round-trips", ttlMs: 60_000, limit: 2 });
      assert.equal(leases.length, 2);
      const from = log.length;
      const written = await Promise.all(
        leases.map(
          async (lease) =>
            await store.append({
              lease,
              events: [{ type: "step-start", payload: { step: 1, node: "model" } }],
            }),
        ),
      );
      assert.deepEqual(log.slice(from), [FENCED_APPEND_SQL]);
      assert.deepEqual(
        written.map((events) => events.map((event) => [event.type, event.seq])),
        [[["step-start", 2]], [["step-start", 2]]],
      );
      const single = log.length;
      await store.append({
        lease: leases[0]!,
        events: [{ type: "step-start", payload: { step: 2, node: "model" } }],
      });
      assert.deepEqual(log.slice(single), [FENCED_APPEND_ONE_SQL]);
      for (const lease of leases) {
        assert.deepEqual(
          (await store.readEvents({ runId: lease.runId })).map((event) => event.type),
          lease === leases[0] ? ["run-start", "step-start", "step-start"] : ["run-start", "step-start"],
        );
      }
    });
  });
}
