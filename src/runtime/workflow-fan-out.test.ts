import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { z } from "zod";
import { scriptedAgent } from "../../test/support/scripted-agent.ts";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import { testGovernor } from "../../test/support/test-governor.ts";
import { createSqlBudgetLedger } from "../governance/index.ts";
import type { JournalEvent } from "../journal/events.ts";
import type { GenerateOptions } from "../models/index.ts";
import { defineWorkflow, type WorkflowDefinition } from "../spec/index.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { defineTool, type Tool } from "../tools/tool.ts";
import type { AgentDefinition } from "./agent-definition.ts";
import { startRun } from "./start-run.ts";
import { createWorker, type Worker } from "./worker.ts";

const principal = { subject: "tester", tenant: "default", roles: [] };

/** What the child agents' tool saw: each call's input and idempotency key, and the most running at once. */
type Ledger = { calls: { input: string; key: string }[]; active: number; most: number };

/**
 * A child agent: its model calls `check` once with the run's input, then answers `checked <input>`. The tool waits
 * `delayMs` (honouring an abort), and fails for an input that starts with `bad`.
 */
function checker(
  name: string,
  ledger: Ledger,
  options: { delayMs?: (input: string) => number; outputTokens?: number } = {},
) {
  const check = defineTool({
    name: "check",
    description: "Checks one thing.",
    input: z.object({ subject: z.string() }),
    sideEffect: true,
    async execute({ subject }, { idempotencyKey, signal }) {
      ledger.active += 1;
      ledger.most = Math.max(ledger.most, ledger.active);
      try {
        const wait = options.delayMs?.(subject) ?? 20;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, wait);
          signal.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        });
        ledger.calls.push({ input: subject, key: idempotencyKey });
        if (subject.startsWith("bad")) throw new Error(`${subject} cannot be checked`);
        return { ok: subject };
      } finally {
        ledger.active -= 1;
      }
    },
  });
  const agent = scriptedAgent({ name, turns: [], tools: [check], maxSteps: 5 });
  agent.provider = {
    ...agent.provider,
    async generate(request: GenerateOptions) {
      const input = String(request.messages[0]?.content ?? "");
      const result = request.messages.find((message) => message.role === "tool");
      if (!result) {
        return {
          decision: {
            kind: "tool-calls",
            calls: [{ callId: "c1", tool: "check", arguments: { subject: input } }],
          },
          usage: { inputTokens: 0, outputTokens: options.outputTokens ?? 0 },
        };
      }
      return {
        decision: { kind: "answer", text: result.isError ? `could not check ${input}` : `checked ${input}` },
        usage: { inputTokens: 0, outputTokens: options.outputTokens ?? 0 },
      };
    },
  };
  return agent;
}

function workflowAgent(workflow: WorkflowDefinition, tools: Tool[] = []): AgentDefinition {
  return { ...scriptedAgent({ name: workflow.name, turns: [], tools, maxSteps: 50 }), workflow };
}

const stores: { name: string; open: () => Promise<SqlStore> }[] = [
  { name: "PGlite", open: async () => await openStore({}) },
];
const serverUrl = testDatabaseServerUrl();
if (serverUrl !== null) {
  stores.push({
    name: "PostgreSQL",
    open: async () => await openStore({ databaseUrl: await createTestDatabase(serverUrl) }),
  });
}

for (const subject of stores) {
  describe(`workflow agent, parallel and map nodes on ${subject.name}`, () => {
    let store: SqlStore;
    before(async () => {
      store = await subject.open();
    });
    after(async () => {
      await store.close();
    });

    /** A worker serving these agents, the children's by name. */
    async function serve(agents: AgentDefinition[], owner = "fan-out-test"): Promise<Worker> {
      const governor = await testGovernor(agents);
      const worker = createWorker({
        store,
        agents: (name) => agents.find((agent) => agent.name === name),
        agentNamed: (name) => agents.find((agent) => agent.name === name),
        governor,
        owner,
        leaseTtlMs: 2_000,
      });
      worker.start();
      return worker;
    }

    async function until(runId: string, statuses: string[], timeoutMs = 20_000): Promise<void> {
      for (let waited = 0; waited < timeoutMs; waited += 20) {
        const run = await store.getRun(runId);
        if (run && statuses.includes(run.status)) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.fail(`run ${runId} did not reach ${statuses.join(" or ")}`);
    }

    async function events(runId: string): Promise<JournalEvent[]> {
      return await store.readEvents({ runId });
    }

    test("an agent node runs its agent as a child run with its own journal, suspends, and is woken by the child's end", async () => {
      const ledger: Ledger = { calls: [], active: 0, most: 0 };
      const child = checker("vendor-checker", ledger);
      const parent = workflowAgent(
        defineWorkflow({
          name: "vendor-review",
          version: "1.0.0",
          description: "Checks a vendor through a child agent.",
          owner: { team: "qa" },
          riskTier: 2,
          state: { verdict: { type: "string" } },
          start: "check",
          nodes: {
            check: {
              agent: { name: "vendor-checker", input: "${input.vendor}" },
              writes: "verdict",
              next: "done",
            },
            done: { end: { output: "${state.verdict}" } },
          },
          limits: { maxSteps: 5 },
        }),
      );
      const worker = await serve([parent, child]);
      try {
        const { run } = await startRun({ store, agent: parent, input: '{"vendor":"acme"}', principal });
        await until(run.runId, ["completed", "failed"]);
        const finished = await store.getRun(run.runId);
        assert.equal(finished?.status, "completed");
        assert.equal(finished?.answer, "checked acme");
        const tree = await store.getRunTree({ runId: run.runId });
        assert.equal(tree?.root.children.length, 1);
        const childRun = tree!.root.children[0]!.run;
        assert.equal(childRun.parentNode, "check");
        assert.equal(childRun.agent, "vendor-checker");
        assert.equal(childRun.principal.subject, "tester", "the child acts for the parent's principal");
        assert.equal(childRun.idempotencyKey, `${run.runId}:check.1`);
        // The child's own journal holds its tool call, governed; the parent's holds none of it.
        const childEvents = await events(childRun.runId);
        assert.ok(childEvents.some((event) => event.type === "tool-call-end"));
        assert.deepEqual(ledger.calls, [{ input: "acme", key: `${childRun.runId}:c1` }]);
        const parentEvents = await events(run.runId);
        const types = parentEvents.map((event) => event.type);
        assert.ok(!types.includes("tool-call-start"));
        assert.ok(!types.includes("timer-fire"), "a child's end is not journaled as a timer");
        const started = parentEvents.find((event) => event.type === "child-start");
        assert.equal(started?.type === "child-start" && started.payload.childRunId, childRun.runId);
        const ended = parentEvents.find((event) => event.type === "child-end");
        assert.ok(ended?.type === "child-end");
        assert.deepEqual([ended.payload.status, ended.payload.answer], ["completed", "checked acme"]);
        const suspended = parentEvents.findIndex(
          (event) => event.type === "run-suspend" && event.payload.wait?.children === 0,
        );
        const resumed = parentEvents.findIndex(
          (event) => event.type === "run-resume" && event.payload.reason === "a child run ended",
        );
        // The child may end before the parent suspends (then the suspend is woken at once): either way it resumed.
        assert.ok(suspended > 0 && resumed > suspended, types.join(", "));
        assert.ok(resumed < parentEvents.indexOf(ended));
      } finally {
        await worker.stop();
      }
    });

    test("a map with concurrency 3 over 20 items keeps at most 3 children running and writes outputs in item order", async () => {
      const ledger: Ledger = { calls: [], active: 0, most: 0 };
      const child = checker("item-checker", ledger, { delayMs: () => 30 });
      const items = Array.from({ length: 20 }, (_, index) => `item-${index}`);
      const parent = workflowAgent(
        defineWorkflow({
          name: "item-review",
          version: "1.0.0",
          description: "Checks every item through a child agent.",
          owner: { team: "qa" },
          riskTier: 2,
          state: { results: { type: "array" } },
          start: "each",
          nodes: {
            each: {
              map: {
                over: "input.items",
                do: { agent: { name: "item-checker", input: "${item}" } },
                concurrency: 3,
              },
              writes: "results",
              next: "done",
            },
            done: { end: { output: "${state.results}" } },
          },
          limits: { maxSteps: 5 },
        }),
      );
      const worker = await serve([parent, child]);
      try {
        const { run } = await startRun({ store, agent: parent, input: JSON.stringify({ items }), principal });
        await until(run.runId, ["completed", "failed"], 60_000);
        const finished = await store.getRun(run.runId);
        assert.equal(finished?.status, "completed", JSON.stringify(finished?.error));
        assert.deepEqual(
          JSON.parse(finished!.answer!),
          items.map((item) => `checked ${item}`),
        );
        assert.ok(ledger.most <= 3, `at most 3 children's tools ran at once, saw ${ledger.most}`);
        assert.equal(ledger.calls.length, 20);
        // By the parent's own journal: never more than 3 children started and not yet seen to end.
        let open = 0;
        let most = 0;
        for (const event of await events(run.runId)) {
          if (event.type === "child-start") open += 1;
          if (event.type === "child-end") open -= 1;
          most = Math.max(most, open);
        }
        assert.ok(most <= 3, `the parent had ${most} children open at once`);
        assert.equal((await store.listChildren({ runId: run.runId, limit: 100 })).length, 20);
      } finally {
        await worker.stop();
      }
    });

    test("join any takes the first success and cancels the other child; quorum and best-effort settle as declared", async () => {
      const ledger: Ledger = { calls: [], active: 0, most: 0 };
      // `slow` would take a minute: the join must not wait for it.
      const child = checker("any-checker", ledger, {
        delayMs: (input) => (input === "slow" ? 60_000 : 20),
      });
      const failing = defineTool({
        name: "flaky",
        description: "Fails for a name that starts with bad.",
        input: z.object({ name: z.string() }),
        async execute({ name }) {
          if (name.startsWith("bad")) throw new Error(`${name} failed`);
          return `ok ${name}`;
        },
      });
      const workflow = (join: unknown, failures: boolean) =>
        defineWorkflow({
          name: `join-${typeof join === "string" ? join : "quorum"}`,
          version: "1.0.0",
          description: "Joins branches.",
          owner: { team: "qa" },
          riskTier: 2,
          state: {
            found: { type: "array", reducer: "append" },
            failed: { type: "array" },
          },
          start: "fan",
          nodes: {
            fan: {
              parallel: {
                branches: {
                  a: { tool: { name: "flaky", args: { name: "bad-a" } } },
                  b: { tool: { name: "flaky", args: { name: "b" } } },
                  c: { tool: { name: "flaky", args: { name: "bad-c" } } },
                },
                join: join as "all",
                ...(failures ? { failures: "failed" } : {}),
              },
              writes: "found",
              next: "done",
            },
            done: { end: { output: '{"found": ${state.found}, "failed": ${state.failed}}' } },
          },
          limits: { maxSteps: 5 },
        });
      const anyParent = workflowAgent(
        defineWorkflow({
          name: "join-any-children",
          version: "1.0.0",
          description: "The first child to succeed wins.",
          owner: { team: "qa" },
          riskTier: 2,
          state: { found: { type: "array", reducer: "append" } },
          start: "fan",
          nodes: {
            fan: {
              parallel: {
                branches: {
                  slow: { agent: { name: "any-checker", input: "slow" } },
                  fast: { agent: { name: "any-checker", input: "fast" } },
                },
                join: "any",
              },
              writes: "found",
              next: "done",
            },
            done: { end: { output: "${state.found}" } },
          },
          limits: { maxSteps: 5 },
        }),
      );
      const bestEffort = workflowAgent(workflow("best-effort", true), [failing]);
      const quorum = workflowAgent(workflow({ quorum: 2 }, false), [failing]);
      const all = workflowAgent(workflow("all", false), [failing]);
      const worker = await serve([anyParent, child, bestEffort, quorum, all]);
      try {
        const { run } = await startRun({ store, agent: anyParent, input: "go", principal });
        await until(run.runId, ["completed", "failed"]);
        assert.deepEqual(JSON.parse((await store.getRun(run.runId))!.answer!), ["checked fast"]);
        const children = await store.listChildren({ runId: run.runId });
        const slow = children.find((each) => each.input === "slow")!;
        await until(slow.runId, ["cancelled"]);
        const branchEnds = (await events(run.runId)).flatMap((event) =>
          event.type === "branch-end" ? [`${event.payload.branch}:${event.payload.outcome}`] : [],
        );
        assert.deepEqual(branchEnds, ["fast:ok", "slow:cancelled"]);

        const best = await startRun({ store, agent: bestEffort, input: "go", principal });
        await until(best.run.runId, ["completed", "failed"]);
        const bestRun = await store.getRun(best.run.runId);
        assert.equal(bestRun?.status, "completed");
        const answer = JSON.parse(bestRun!.answer!) as { found: unknown[]; failed: { branch: string }[] };
        assert.deepEqual(answer.found, ["ok b"]);
        assert.deepEqual(
          answer.failed.map((failure) => failure.branch),
          ["a", "c"],
        );

        const q = await startRun({ store, agent: quorum, input: "go", principal });
        await until(q.run.runId, ["completed", "failed"]);
        const quorumRun = await store.getRun(q.run.runId);
        assert.equal(quorumRun?.status, "failed", "one success of three cannot make a quorum of 2");
        assert.equal(quorumRun?.error?.code, "tool_failed");

        const a = await startRun({ store, agent: all, input: "go", principal });
        await until(a.run.runId, ["completed", "failed"]);
        const allRun = await store.getRun(a.run.runId);
        assert.equal(allRun?.status, "failed");
        assert.match(allRun?.error?.message ?? "", /node fan branch a: /);
        // With no concurrency cap the three tool branches ran as one wave: every call was decided and started
        // before any ran, each ended once, and the join failed the node on the first failed branch in order.
        const journal = await events(a.run.runId);
        const types = journal.map((event) => event.type);
        assert.equal(types.filter((type) => type === "tool-call-propose").length, 3);
        assert.equal(types.filter((type) => type === "tool-call-end").length, 3);
        assert.ok(
          types.lastIndexOf("tool-call-start") < types.indexOf("tool-call-end"),
          "every start was durable before the first call ended",
        );
      } finally {
        await worker.stop();
      }
    });

    test("a branch past its timeout has its child cancelled and is recorded failed with branch_timeout", async () => {
      const ledger: Ledger = { calls: [], active: 0, most: 0 };
      const child = checker("timed-checker", ledger, {
        delayMs: (input) => (input === "stuck" ? 60_000 : 10),
      });
      const parent = workflowAgent(
        defineWorkflow({
          name: "timed-review",
          version: "1.0.0",
          description: "One child takes too long.",
          owner: { team: "qa" },
          riskTier: 2,
          state: {
            found: { type: "array" },
            unchecked: { type: "array" },
          },
          start: "fan",
          nodes: {
            fan: {
              map: {
                over: "input.items",
                do: { agent: { name: "timed-checker", input: "${item}" } },
                // Long enough that the quick child ends before it even on a loaded machine, so the parent, woken
                // by that end, suspends again and wakes for the deadline's timer.
                timeout: "1500ms",
                join: "best-effort",
                failures: "unchecked",
              },
              writes: "found",
              next: "done",
            },
            done: { end: { output: '{"found": ${state.found}, "unchecked": ${state.unchecked}}' } },
          },
          limits: { maxSteps: 5 },
        }),
      );
      const worker = await serve([parent, child]);
      try {
        const { run } = await startRun({
          store,
          agent: parent,
          input: JSON.stringify({ items: ["quick", "stuck"] }),
          principal,
        });
        await until(run.runId, ["completed", "failed"]);
        const finished = await store.getRun(run.runId);
        assert.equal(finished?.status, "completed", JSON.stringify(finished?.error));
        const answer = JSON.parse(finished!.answer!) as {
          found: string[];
          unchecked: { index: number; error: { code: string } }[];
        };
        assert.deepEqual(answer.found, ["checked quick"]);
        assert.deepEqual(
          answer.unchecked.map((failure) => [failure.index, failure.error.code]),
          [[1, "branch_timeout"]],
        );
        const stuck = (await store.listChildren({ runId: run.runId })).find(
          (each) => each.input === "stuck",
        )!;
        await until(stuck.runId, ["cancelled"]);
        // The parent slept on the branch's deadline, a durable timer, and woke for it.
        assert.ok((await events(run.runId)).some((event) => event.type === "timer-fire"));
      } finally {
        await worker.stop();
      }
    });

    test("after a crash mid-fan-out, a fresh worker finishes it without re-running finished branches", async () => {
      const ledger: Ledger = { calls: [], active: 0, most: 0 };
      let releaseSlow: () => void = () => {};
      const slowGate = new Promise<void>((resolve) => {
        releaseSlow = resolve;
      });
      const child = checker("crash-checker", ledger, {
        delayMs: (input) => (input.startsWith("late") ? 500 : 5),
      });
      const tally: string[] = [];
      let r2Started = false;
      const record = defineTool({
        name: "record",
        description: "Records a line (a side effect).",
        input: z.object({ line: z.string() }),
        sideEffect: true,
        async execute({ line }, { signal }) {
          if (line === "r2") {
            r2Started = true;
            // Held until the test lets it go; a worker that stops meanwhile abandons the attempt before its effect.
            await new Promise<void>((resolve, reject) => {
              void slowGate.then(resolve);
              signal.addEventListener("abort", () => reject(signal.reason));
            });
          }
          tally.push(line);
          return line;
        },
      });
      const parent = workflowAgent(
        defineWorkflow({
          name: "crash-review",
          version: "1.0.0",
          description: "Fans out to children and tools.",
          owner: { team: "qa" },
          riskTier: 2,
          state: { found: { type: "array", reducer: "append" } },
          start: "fan",
          nodes: {
            fan: {
              parallel: {
                branches: {
                  early: { agent: { name: "crash-checker", input: "early" } },
                  r1: { tool: { name: "record", args: { line: "r1" } } },
                  late: { agent: { name: "crash-checker", input: "late" } },
                  r2: { tool: { name: "record", args: { line: "r2" } } },
                },
                join: "all",
              },
              writes: "found",
              next: "done",
            },
            done: { end: { output: "${state.found}" } },
          },
          limits: { maxSteps: 5 },
        }),
        [record],
      );
      const first = await serve([parent, child], "first");
      const { run } = await startRun({ store, agent: parent, input: "go", principal });
      // r2 holds the parent's worker inside the fan-out: early and r1 have finished, late is running.
      for (let waited = 0; waited < 20_000 && !r2Started; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.deepEqual(tally, ["r1"]);
      await first.stop();
      releaseSlow();
      const second = await serve([parent, child], "second");
      try {
        await until(run.runId, ["completed", "failed"]);
        const finished = await store.getRun(run.runId);
        assert.equal(finished?.status, "completed", JSON.stringify(finished?.error));
        assert.deepEqual([...(JSON.parse(finished!.answer!) as string[])].sort(), [
          "checked early",
          "checked late",
          "r1",
          "r2",
        ]);
        // r1 finished before the crash and is not run again; r2 was interrupted before its effect and retried once.
        assert.deepEqual(tally, ["r1", "r2"]);
        const r2Attempts = (await events(run.runId)).flatMap((event) =>
          event.type === "tool-call-start" && event.payload.callId === "fan.1.r2"
            ? [event.payload.attempt]
            : [],
        );
        assert.deepEqual(r2Attempts, [1, 2]);
        // Each child's call took effect under one idempotency key. A call the stop interrupted after its tool
        // returned but before its end was journaled runs again under the same key — the contract of a
        // side-effecting tool is to apply a key at most once — so keys are counted, not executions.
        const keysOf = (input: string) =>
          new Set(ledger.calls.filter((call) => call.input === input).map((call) => call.key));
        assert.equal(keysOf("early").size, 1);
        assert.equal(keysOf("late").size, 1);
        assert.equal((await store.listChildren({ runId: run.runId })).length, 2, "no child started twice");
        const starts = (await events(run.runId)).filter((event) => event.type === "child-start");
        assert.equal(starts.length, 2);
      } finally {
        await second.stop();
      }
    });

    test("a cancel of the parent reaches its running child", async () => {
      const ledger: Ledger = { calls: [], active: 0, most: 0 };
      const child = checker("held-checker", ledger, { delayMs: () => 60_000 });
      const parent = workflowAgent(
        defineWorkflow({
          name: "held-review",
          version: "1.0.0",
          description: "A child that does not end by itself.",
          owner: { team: "qa" },
          riskTier: 2,
          state: { verdict: { type: "string" } },
          start: "check",
          nodes: {
            check: { agent: { name: "held-checker", input: "x" }, writes: "verdict", next: "done" },
            done: { end: { output: "${state.verdict}" } },
          },
          limits: { maxSteps: 5 },
        }),
      );
      const worker = await serve([parent, child]);
      try {
        const { run } = await startRun({ store, agent: parent, input: "go", principal });
        await until(run.runId, ["suspended"]);
        for (let waited = 0; waited < 10_000 && ledger.active === 0; waited += 10) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await store.requestCancel(run.runId, { by: "user:ada" });
        await until(run.runId, ["cancelled"]);
        const [childRun] = await store.listChildren({ runId: run.runId });
        await until(childRun!.runId, ["cancelled"]);
        assert.equal(ledger.calls.length, 0, "the child's held call never completed");
      } finally {
        await worker.stop();
      }
    });

    test("children's model calls count against the parent's per-run cap, so together they stay within it", async () => {
      const ledger: Ledger = { calls: [], active: 0, most: 0 };
      // Each child makes two model calls of 50 tokens each; five of them would spend 500.
      const child = checker("budget-checker", ledger, { outputTokens: 50 });
      child.params = { maxOutputTokens: 50 };
      const budgetLedger = createSqlBudgetLedger(store.sql);
      // Bound with the ledger and no caps of its own, as Keel binds every served agent.
      child.budgets = { ledger: budgetLedger, limits: {} };
      const parent: AgentDefinition = {
        ...workflowAgent(
          defineWorkflow({
            name: "budget-review",
            version: "1.0.0",
            description: "Fans out to children under one cap.",
            owner: { team: "qa" },
            riskTier: 2,
            state: { found: { type: "array" }, over: { type: "array" } },
            start: "each",
            nodes: {
              each: {
                map: {
                  over: "input.items",
                  do: { agent: { name: "budget-checker", input: "${item}" } },
                  join: "best-effort",
                  failures: "over",
                },
                writes: "found",
                next: "done",
              },
              done: { end: { output: '{"found": ${state.found}, "over": ${state.over}}' } },
            },
            limits: { maxSteps: 5 },
          }),
        ),
        budgets: { ledger: budgetLedger, limits: { perRun: { tokens: 250 } } },
      };
      const worker = await serve([parent, child]);
      try {
        const items = ["a", "b", "c", "d", "e"];
        const { run } = await startRun({ store, agent: parent, input: JSON.stringify({ items }), principal });
        await until(run.runId, ["completed", "failed"], 30_000);
        const spent = await budgetLedger.read({ scope: `run:${run.runId}`, period: "run" });
        assert.ok(spent.spentTokens > 0, "the children's spend was counted on the parent's counter");
        assert.ok(spent.spentTokens <= 250, `the children spent ${spent.spentTokens} tokens of a 250 cap`);
        assert.equal(spent.reservedTokens, 0);
        const children = await store.listChildren({ runId: run.runId });
        assert.equal(children.length, 5);
        assert.ok(
          children.some((each) => each.status === "budget_exceeded"),
          children.map((each) => each.status).join(", "),
        );
      } finally {
        await worker.stop();
      }
    });

    test("a map with no concurrency cap starts a child per item at once and reads their ends a page at a time", async () => {
      const ledger: Ledger = { calls: [], active: 0, most: 0 };
      const child = checker("wide-checker", ledger, { delayMs: () => 50 });
      const items = Array.from({ length: 40 }, (_, index) => `w${index}`);
      const parent = workflowAgent(
        defineWorkflow({
          name: "wide-review",
          version: "1.0.0",
          description: "Forty children at once.",
          owner: { team: "qa" },
          riskTier: 2,
          state: { results: { type: "array" } },
          start: "each",
          nodes: {
            each: {
              map: { over: "input.items", do: { agent: { name: "wide-checker", input: "${item}" } } },
              writes: "results",
              next: "done",
            },
            done: { end: { output: "${state.results}" } },
          },
          limits: { maxSteps: 5 },
        }),
      );
      const worker = await serve([parent, child]);
      try {
        const { run } = await startRun({ store, agent: parent, input: JSON.stringify({ items }), principal });
        await until(run.runId, ["completed", "failed"], 60_000);
        const finished = await store.getRun(run.runId);
        assert.equal(finished?.status, "completed", JSON.stringify(finished?.error));
        assert.deepEqual(
          JSON.parse(finished!.answer!),
          items.map((item) => `checked ${item}`),
        );
        const journal = await events(run.runId);
        assert.equal(journal.filter((event) => event.type === "child-end").length, 40);
        assert.equal(journal.filter((event) => event.type === "child-start").length, 40);
      } finally {
        await worker.stop();
      }
    });

    test("a map over 1,000 tool items settles every item once, each call under its own idempotency key", async () => {
      const seen = new Map<string, number>();
      const tally = defineTool({
        name: "tally",
        description: "Counts an item (a side effect).",
        input: z.object({ item: z.number() }),
        sideEffect: true,
        async execute({ item }, { idempotencyKey }) {
          seen.set(idempotencyKey, (seen.get(idempotencyKey) ?? 0) + 1);
          return item * 2;
        },
      });
      const items = Array.from({ length: 1_000 }, (_, index) => index);
      const parent = workflowAgent(
        defineWorkflow({
          name: "tally-review",
          version: "1.0.0",
          description: "A thousand tool calls.",
          owner: { team: "qa" },
          riskTier: 2,
          state: { doubled: { type: "array" } },
          start: "each",
          nodes: {
            each: {
              map: { over: "input.items", do: { tool: { name: "tally", args: { item: "${item}" } } } },
              writes: "doubled",
              next: "done",
            },
            done: { end: { output: "${state.doubled}" } },
          },
          limits: { maxSteps: 5 },
        }),
        [tally],
      );
      const worker = await serve([parent]);
      try {
        const { run } = await startRun({ store, agent: parent, input: JSON.stringify({ items }), principal });
        await until(run.runId, ["completed", "failed"], 240_000);
        const finished = await store.getRun(run.runId);
        assert.equal(finished?.status, "completed", JSON.stringify(finished?.error));
        assert.deepEqual(
          JSON.parse(finished!.answer!),
          items.map((item) => item * 2),
        );
        assert.equal(seen.size, 1_000);
        assert.ok(
          [...seen.values()].every((count) => count === 1),
          "every item's call ran once",
        );
        assert.ok(seen.has(`${run.runId}:each.1.999`));
      } finally {
        await worker.stop();
      }
    });
  });
}
