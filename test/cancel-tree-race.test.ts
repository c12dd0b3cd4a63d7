/**
 * The cancel race on real stores: a workflow run whose node fans out to child runs (one of them a workflow with
 * children of its own) while a worker takes their steps, cancelled at a random moment. The acknowledgement is
 * `cancelTree` returning; with it come each marked run's `last_seq` as read by the statement that holds the run's
 * row lock to COMMIT (every append takes that lock and checks the flag), so "after the acknowledgement" is exact:
 * seq above it. Over 1,000 randomized trials (fast-check) on PostgreSQL and 400 on PGlite (the same SQL in process,
 * slower), ten trees at a time on one worker, no event that starts work (`STARTS_WORK`) is committed to any run of a
 * tree after its acknowledgement — except a model turn written with its end, which records a call already made — no
 * tool runs whose start is not journaled before it, and every run of the tree ends cancelled (or had ended before). The worker, the
 * workflow and agent graphs, the governor and the store are the real ones; only the model is scripted.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { z } from "zod";
import { type JournalEvent, STARTS_WORK, TERMINAL_STATUSES } from "../src/journal/index.ts";
import type { GenerateOptions } from "../src/models/index.ts";
import type { AgentDefinition } from "../src/runtime/agent-definition.ts";
import { startRun } from "../src/runtime/start-run.ts";
import { createWorker, type Worker } from "../src/runtime/worker.ts";
import { defineWorkflow, type WorkflowDefinition } from "../src/spec/index.ts";
import type { CancelTreeResult } from "../src/store/run-tree-store.ts";
import type { SqlStore } from "../src/store/sql-store.ts";
import type { RunRecord } from "../src/store/store.ts";
import { defineTool } from "../src/tools/tool.ts";
import { scriptedAgent } from "./support/scripted-agent.ts";
import { testStores } from "./support/test-database.ts";
import { testGovernor } from "./support/test-governor.ts";

/** Trials per store: the full thousand where the database is its own process, fewer on the slower in-process one. */
const TRIALS_ON = { PostgreSQL: 1_000, PGlite: 400 } as const;
/** A workflow template naming the run's input: each run of a tree carries the tree's name as its input. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a workflow template, not JavaScript.
const INPUT = "${input}";
/** Trials run at once, each its own tree and cancel. */
const TREES_AT_ONCE = 10;
/** Model calls and tool executions of the tree when nothing cancels it. */
const ACTIONS = 12;
/** Events a cancelled run writes as it ends, whatever it was doing. */
const ENDING: ReadonlySet<string> = new Set(["run-resume", "run-cancel", "run-end"]);
const principal = { subject: "tester", tenant: "default", roles: [] };

/** Every tool execution, by run and call: each must have its start journaled before the acknowledgement. */
type Executions = { runId: string; callId: string }[];

/** Random numbers of one trial, from its seed, so a failing trial replays. */
type Random = () => number;

/** A pause of 0–2 ms, as the trial's random numbers decide: interleavings differ from trial to trial. */
async function jitter(random: Random): Promise<void> {
  const chance = random();
  if (chance < 0.3) return;
  if (chance < 0.6) await new Promise((resolve) => setImmediate(resolve));
  else await new Promise((resolve) => setTimeout(resolve, Math.floor(chance * 3)));
}

/**
 * What the trials running at once answer, by tree (each tree's runs carry its name as their input): its random
 * numbers, and what to do at each of its actions (a model call or a tool execution).
 */
type TrialHooks = { random: (tree: string) => number; onAction: (tree: string) => void };

/** The agents of the tree: `incident` (root) → a `checker` child and a `review` child → `checker` grandchildren. */
function agents(executions: Executions, hooks: TrialHooks): AgentDefinition[] {
  const work = defineTool({
    name: "work",
    description: "Does one piece of work.",
    input: z.object({ subject: z.string() }),
    sideEffect: true,
    async execute({ subject }, { runId, callId }) {
      executions.push({ runId, callId });
      hooks.onAction(subject);
      await jitter(() => hooks.random(subject));
      return { done: subject };
    },
  });
  // A tool step, then an answer: a model call, a tool call and a model call, so a run is mid-step most of the time.
  const checker = scriptedAgent({ name: "checker", turns: [], tools: [work], maxSteps: 6 });
  checker.provider = {
    ...checker.provider,
    async generate(request: GenerateOptions) {
      const tree = String(request.messages[0]?.content ?? "");
      hooks.onAction(tree);
      await jitter(() => hooks.random(tree));
      const done = request.messages.filter((message) => message.role === "tool").length;
      if (done >= 1)
        return { decision: { kind: "answer", text: "checked" }, usage: { inputTokens: 0, outputTokens: 0 } };
      return {
        decision: {
          kind: "tool-calls",
          calls: [{ callId: `c${done + 1}`, tool: "work", arguments: { subject: tree } }],
        },
        usage: { inputTokens: 0, outputTokens: 0 },
      };
    },
  };
  const workflowAgent = (workflow: WorkflowDefinition): AgentDefinition => ({
    ...scriptedAgent({ name: workflow.name, turns: [], tools: [work], maxSteps: 20 }),
    workflow,
  });
  const review = workflowAgent(
    defineWorkflow({
      name: "review",
      version: "1.0.0",
      description: "Two checks in parallel.",
      owner: { team: "qa" },
      riskTier: 2,
      state: { found: { type: "array", reducer: "append" } },
      start: "fan",
      nodes: {
        fan: {
          parallel: {
            branches: {
              x: { agent: { name: "checker", input: INPUT } },
              y: { agent: { name: "checker", input: INPUT } },
            },
            join: "all",
          },
          writes: "found",
          next: "done",
        },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a workflow template, not JavaScript.
        done: { end: { output: "${state.found}" } },
      },
      limits: { maxSteps: 10 },
    }),
  );
  const incident = workflowAgent(
    defineWorkflow({
      name: "incident",
      version: "1.0.0",
      description: "A tool step, then checks and a review in parallel, then a last tool step.",
      owner: { team: "qa" },
      riskTier: 2,
      state: {
        first: { type: "object" },
        found: { type: "array", reducer: "append" },
        last: { type: "object" },
      },
      start: "open",
      nodes: {
        open: { tool: { name: "work", args: { subject: INPUT } }, writes: "first", next: "fan" },
        fan: {
          parallel: {
            branches: {
              a: { agent: { name: "checker", input: INPUT } },
              r: { agent: { name: "review", input: INPUT } },
              t: { tool: { name: "work", args: { subject: INPUT } } },
            },
            join: "all",
          },
          writes: "found",
          next: "close",
        },
        close: { tool: { name: "work", args: { subject: INPUT } }, writes: "last", next: "done" },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a workflow template, not JavaScript.
        done: { end: { output: "${state.found}" } },
      },
      limits: { maxSteps: 10 },
    }),
  );
  return [incident, review, checker];
}

/** Every run of the tree under `root`, read through the store's own tree query. */
async function treeRuns(store: SqlStore, root: string): Promise<RunRecord[]> {
  const tree = await store.getRunTree({ runId: root });
  assert.ok(tree);
  const runs: RunRecord[] = [];
  const visit = (node: (typeof tree)["root"]) => {
    runs.push(node.run);
    for (const child of node.children) visit(child);
  };
  visit(tree.root);
  return runs;
}

/** Wait until every run of the tree has ended (its worker ends a cancelled run at its next append or claim). */
async function settled(store: SqlStore, root: string): Promise<RunRecord[]> {
  for (let waited = 0; waited < 20_000; waited += 5) {
    const runs = await treeRuns(store, root);
    if (runs.every((run) => TERMINAL_STATUSES.has(run.status))) return runs;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.fail(`the tree of ${root} did not end within 20 s of its cancel`);
}

// Each store's trials use their own store, worker and agents and share nothing: the two stores run side by side,
// so the PostgreSQL half's waits on its server overlap the PGlite half's work in this process.
describe("cancelling a run tree, on each store", { concurrency: true }, () => {
  for (const subject of testStores()) {
    describe(`cancelling a run tree on ${subject.name}`, () => {
      let store: SqlStore;
      before(async () => {
        store = await subject.open();
      });
      after(async () => {
        await store.close();
      });

      const TRIALS = TRIALS_ON[subject.name];
      test(`no run of a cancelled tree starts work after the cancel is acknowledged (${TRIALS} randomized trials)`, async () => {
        const executions: Executions = [];
        const problems: string[] = [];
        const hooks: TrialHooks = { random: Math.random, onAction: () => {} };
        const served = agents(executions, hooks);
        const governor = await testGovernor(served);
        const worker: Worker = createWorker({
          store,
          agents: (name) => served.find((agent) => agent.name === name),
          agentNamed: (name) => served.find((agent) => agent.name === name),
          governor,
          owner: `cancel-race-${subject.name}`,
          // Long enough that a worker slowed by a loaded machine keeps its leases: a lost lease is not what this
          // test is about, and on PGlite (one process doing all the work) it was lost under a full test suite.
          leaseTtlMs: 15_000,
          concurrency: 64,
          // A run the worker could not drive to its end (an error it did not turn into the run's end) is logged here.
          log: (message) => problems.push(message),
        });
        worker.start();
        const totals = { trials: 0, fenced: 0, midWay: 0, settledAfter: 0, endedBefore: 0, lateChildren: 0 };
        const started = performance.now();
        /** Check one settled tree against its acknowledgement (`fence`: each marked run's last seq before it). */
        function checkTree(
          runs: readonly RunRecord[],
          fence: ReadonlyMap<string, number>,
          journals: JournalEvent[][],
        ) {
          for (const [index, run] of runs.entries()) {
            const events = journals[index]!;
            // Marked by this cancel; or created after it (marked at creation, so fenced from its run-start); or
            // ended before it, untouched.
            const lastSeq = fence.get(run.runId) ?? (run.cancelRequested ? 1 : Number.POSITIVE_INFINITY);
            if (!fence.has(run.runId) && run.cancelRequested) totals.lateChildren += 1;
            if (!fence.has(run.runId) && !run.cancelRequested) {
              totals.endedBefore += 1;
              assert.equal(run.status, "completed", `${run.runId} ended before the cancel`);
              continue;
            }
            totals.fenced += 1;
            const late = events.filter((event) => event.seq > lastSeq);
            const starts = late.filter(
              (event, index) => STARTS_WORK.has(event.type) && !recordsDoneWork(late, index),
            );
            // Cancelled part way (it had started work), and what it settled after the acknowledgement.
            if (events.some((event) => event.seq <= lastSeq && STARTS_WORK.has(event.type)))
              totals.midWay += 1;
            totals.settledAfter += late.filter((event) => !ENDING.has(event.type)).length;
            assert.deepEqual(
              starts.map(describeEvent),
              [],
              `${run.runId} (${run.agent}) started work after the cancel was acknowledged at seq ${lastSeq}`,
            );
            assert.equal(run.status, "cancelled", `${run.runId} (${run.agent}) ends cancelled`);
            const end = events.at(-1);
            assert.equal(end?.type === "run-end" && end.payload.error?.code, "cancelled");
            // Every tool that ran for this run had its start journaled before the acknowledgement.
            const startedCalls = new Set(
              events.flatMap((event) =>
                event.type === "tool-call-start" && event.seq <= lastSeq ? [event.payload.callId] : [],
              ),
            );
            for (const execution of executions) {
              if (execution.runId !== run.runId) continue;
              assert.ok(
                startedCalls.has(execution.callId),
                `${run.runId}: ${execution.callId} ran without a start journaled before the cancel`,
              );
            }
          }
        }

        try {
          let trees = 0;
          await fc.assert(
            fc.asyncProperty(
              fc.array(
                fc.record({
                  // The cancel is thrown at this action of the tree (a model call or a tool execution; 12 in all when
                  // nothing is cancelled), after a pause of 0–2 ms.
                  cancelAtAction: fc.integer({ min: 0, max: ACTIONS - 1 }),
                  pause: fc.integer({ min: 0, max: 2 }),
                  seed: fc.integer(),
                }),
                { minLength: TREES_AT_ONCE, maxLength: TREES_AT_ONCE },
              ),
              async (batch) => {
                // Several trials at once, each its own tree and cancel, so one worker interleaves them all.
                const trials = batch.map((trial) => {
                  trees += 1;
                  let state = trial.seed >>> 0;
                  return {
                    ...trial,
                    name: `tree-${trees}`,
                    random: () => {
                      state = (state * 1_664_525 + 1_013_904_223) >>> 0;
                      return state / 2 ** 32;
                    },
                    actions: 0,
                    cancelling: null as Promise<CancelTreeResult | null> | null,
                    root: null as Promise<{ run: RunRecord }> | null,
                  };
                });
                const byName = new Map(trials.map((trial) => [trial.name, trial]));
                const cancel = (trial: (typeof trials)[number]) => {
                  trial.cancelling ??= (async () => {
                    const { run } = await trial.root!;
                    if (trial.pause > 0) await new Promise((resolve) => setTimeout(resolve, trial.pause - 1));
                    return await store.cancelTree(run.runId, { by: "user:ada" });
                  })();
                };
                hooks.random = (tree) => byName.get(tree)?.random() ?? 0;
                hooks.onAction = (tree) => {
                  const trial = byName.get(tree);
                  if (!trial) return;
                  trial.actions += 1;
                  if (trial.actions === trial.cancelAtAction) cancel(trial);
                };
                for (const trial of trials) {
                  trial.root = startRun({ store, agent: served[0]!, input: trial.name, principal });
                  if (trial.cancelAtAction === 0) cancel(trial);
                }
                await Promise.all(trials.map(async (trial) => await trial.root));
                worker.poke();
                for (let waited = 0; trials.some((trial) => trial.cancelling === null); waited += 1) {
                  assert.ok(waited < 20_000, "every tree took the action its cancel waits for");
                  await new Promise((resolve) => setTimeout(resolve, 1));
                }
                for (const trial of trials) {
                  totals.trials += 1;
                  const { run: root } = await trial.root!;
                  const ack = await trial.cancelling!;
                  assert.ok(ack);
                  const fence = new Map(ack.fencedAt.map(({ runId, lastSeq }) => [runId, lastSeq]));
                  const runs = await settled(store, root.runId);
                  checkTree(
                    runs,
                    fence,
                    await Promise.all(runs.map(async (run) => await store.readEvents({ runId: run.runId }))),
                  );
                }
                executions.length = 0;
              },
            ),
            { numRuns: TRIALS / TREES_AT_ONCE, seed: 20_261_206 },
          );
        } finally {
          await worker.stop({ graceMs: 1_000 });
        }
        const seconds = (performance.now() - started) / 1_000;
        console.log(
          `${subject.name}: ${totals.trials} trials in ${seconds.toFixed(1)} s; ${totals.fenced} runs fenced, ` +
            `${totals.lateChildren} of them created after the cancel, ${totals.endedBefore} ended before it; ` +
            `${totals.midWay} cancelled part way; ${totals.settledAfter} events settling work in flight written after the ` +
            "acknowledgement, none starting work",
        );
        assert.equal(totals.trials, TRIALS);
        assert.deepEqual(problems, [], "every refusal became a clean cancellation, not a failure");
        assert.ok(
          totals.midWay > 0 && totals.settledAfter > 0,
          "cancels landed mid-run, with work in flight",
        );
      });
    });
  }
});

function describeEvent(event: JournalEvent): string {
  return `${event.seq} ${event.type}`;
}

/**
 * A step or model-call start after the acknowledgement is allowed only with its model turn's end after it: the
 * append that carried them recorded a model call already made (the fence lets work done through, see
 * `firstFencedEvent`). This test's tools all have side effects, so their starts are never deferred: any late
 * `tool-call-start`, like any other start, is work begun after the cancel.
 */
function recordsDoneWork(late: readonly JournalEvent[], index: number): boolean {
  const event = late[index]!;
  if (event.type !== "step-start" && event.type !== "model-call-start") return false;
  const { step } = event.payload;
  return late.slice(index + 1).some((each) => each.type === "model-call-end" && each.payload.step === step);
}
