import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createTestDatabase, testDatabaseServerUrl } from "../../test/support/test-database.ts";
import type { RunAnnotationPayload } from "../journal/events.ts";
import { startRun } from "../runtime/start-run.ts";
import type { Worker } from "../runtime/worker.ts";
import { openStore } from "../store/open-store.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { decideGate } from "./decide-gate.ts";
import { EvalCase } from "./eval-case.ts";
import { refunderAgent, refunderWorker } from "./eval-fixtures.ts";
import type { EvalRunResult } from "./eval-result.ts";
import {
  directoryEvalResultStore,
  type EvalResultStore,
  latestGateResult,
  sqlEvalResultStore,
} from "./eval-result-store.ts";
import { sqlEvaluationLog } from "./evaluation-log.ts";
import { boundsGrader, governanceGrader } from "./governance-graders.ts";
import { appendCase, caseFromFeedback, caseFromRun, redactText } from "./import-cases.ts";
import { loadDataset } from "./load-dataset.ts";
import { createProductionSampler, isSampled } from "./production-sampler.ts";

function evalRun(
  id: string,
  version: string,
  dataset: string,
  passRate: number,
  finishedAt: string,
): EvalRunResult {
  const total = 10;
  const passed = Math.round(passRate * total);
  const summary = { total, passed, failed: total - passed, errored: 0, passRate, meanScore: passRate };
  return {
    id,
    agent: "refunder",
    version,
    model: "scripted",
    deterministic: false,
    dataset: { name: dataset, kind: "regression", version: "sha256:x", file: "/x.yaml" },
    startedAt: finishedAt,
    finishedAt,
    durationMs: 1,
    concurrency: 1,
    summary,
    byCategory: { general: summary },
    cases: [],
    advisoryJudges: [],
  };
}

const serverUrl = testDatabaseServerUrl();
const kinds = [
  { name: "on PGlite", skip: false as const, open: () => openStore({}) },
  {
    name: "on PostgreSQL",
    skip: serverUrl === null ? "no PostgreSQL on this machine (KEEL_TEST_DATABASE_URL is not set)" : false,
    open: async () => openStore({ databaseUrl: await createTestDatabase(serverUrl!) }),
  },
];

async function checkResultStore(results: EvalResultStore): Promise<void> {
  const gate = { minScore: 0.9, maxRegression: 0.02 };
  const runs = [
    evalRun("e1", "1.0.0", "golden", 0.95, "2026-01-01T00:00:00.000Z"),
    evalRun("e2", "1.1.0", "golden", 0.8, "2026-01-02T00:00:00.000Z"),
    evalRun("e3", "1.1.0", "golden", 0.92, "2026-01-03T00:00:00.000Z"),
    evalRun("e4", "1.1.0", "adversarial", 1, "2026-01-03T00:00:01.000Z"),
    evalRun("e5", "1.1.0", "golden", 0.5, "2026-01-04T00:00:00.000Z"),
  ];
  for (const [index, result] of runs.entries())
    await results.save({ result, gate: index === 4 ? null : decideGate(result, null, gate) });
  assert.equal((await results.get("e2"))?.gate?.passed, false);
  assert.deepEqual(
    (await results.list({ agent: "refunder", version: "1.1.0", dataset: "golden" })).map(
      (run) => run.result.id,
    ),
    ["e5", "e3", "e2"],
  );
  // Only gated runs count, the newest per dataset: e5 was not gated, so e3 decides golden.
  const latest = await latestGateResult({ results, agent: "refunder", version: "1.1.0" });
  assert.equal(latest?.passed, true);
  assert.deepEqual(
    latest?.datasets.map((entry) => [entry.dataset, entry.evalRunId, entry.passed]),
    [
      ["adversarial", "e4", true],
      ["golden", "e3", true],
    ],
  );
  await results.save({
    result: evalRun("e6", "1.1.0", "golden", 0.7, "2026-01-05T00:00:00.000Z"),
    gate: decideGate(evalRun("e6", "1.1.0", "golden", 0.7, "x"), null, gate),
  });
  const failed = await latestGateResult({ results, agent: "refunder", version: "1.1.0" });
  assert.equal(failed?.passed, false);
  assert.match(failed?.datasets[1]?.reasons[0] ?? "", /pass rate 70\.0% is below the bar/);
  assert.equal(await latestGateResult({ results, agent: "refunder", version: "9.9.9" }), null);
}

describe("eval results in a folder of JSON files", () => {
  test("are listed newest first and give the latest gate verdict per dataset", async () => {
    await checkResultStore(directoryEvalResultStore(await mkdtemp(join(tmpdir(), "keel-eval-results-"))));
  });
});

for (const kind of kinds) {
  describe(`eval storage ${kind.name}`, { skip: kind.skip }, () => {
    let store: SqlStore;
    let worker: Worker;
    before(async () => {
      store = await kind.open();
      ({ worker } = await refunderWorker(store));
    });
    after(async () => {
      await worker?.stop();
      await store?.close();
    });

    async function finishedRun(input: string): Promise<string> {
      const { run } = await startRun({
        store,
        agent: refunderAgent,
        input,
        principal: { subject: "ada@example.com", tenant: "default", roles: [] },
      });
      worker.poke();
      for (let i = 0; i < 200; i++) {
        const current = await store.getRun(run.runId);
        if (current && !["queued", "running"].includes(current.status)) return run.runId;
        await store.waitForEvents({ runId: run.runId, afterSeq: current?.lastSeq ?? 0, timeoutMs: 100 });
      }
      throw new Error("the run did not settle");
    }

    test("stores eval runs and gate verdicts in keel_eval_runs", async () => {
      await checkResultStore(sqlEvalResultStore(store.sql));
    });

    test("records feedback as an append-only, validated, hashed score and tracks it per day", async () => {
      const log = sqlEvaluationLog(store.sql);
      const runId = await finishedRun("refund 40 to ada@example.com");
      const up = await log.record({
        type: "feedback",
        runId,
        agent: "refunder",
        version: "1.0.0",
        payload: { rating: "up", score: 1, by: "ada", comment: "quick" },
      });
      await log.record({
        type: "feedback",
        runId,
        agent: "refunder",
        version: "1.0.0",
        payload: { rating: "down", score: 0, by: "bob" },
      });
      assert.match(up.payloadHash, /^[0-9a-f]{64}$/);
      assert.deepEqual(
        (await log.forRun(runId)).map((event) => event.payload),
        [
          { rating: "up", score: 1, by: "ada", comment: "quick" },
          { rating: "down", score: 0, by: "bob" },
        ],
      );
      await assert.rejects(
        log.record({
          type: "feedback",
          runId,
          agent: "refunder",
          version: "1.0.0",
          payload: { rating: "meh", score: 1, by: "x" } as never,
        }),
        /the feedback event is not valid/,
      );
      const [today] = await log.scoreSeries({ agent: "refunder", type: "feedback" });
      assert.equal(today?.count, 2);
      assert.equal(today?.meanScore, 0.5);
      assert.match(today?.bucket ?? "", /^\d{4}-\d{2}-\d{2}$/);

      // A thumbs-up becomes a case that holds the next version to what this run did; the input is redacted.
      const promoted = await caseFromFeedback({ store, feedback: up as never });
      assert.equal(promoted.input, "refund 40 to [email]");
      assert.deepEqual(promoted.expect.tools, { called: ["refund"] });
      assert.equal(promoted.source?.kind, "feedback");
      await assert.rejects(
        caseFromFeedback({
          store,
          feedback: { ...up, payload: { rating: "down", score: 0, by: "b" } } as never,
        }),
        /--expected/,
      );
      const corrected = await caseFromFeedback({
        store,
        feedback: { ...up, payload: { rating: "down", score: 0, by: "b" } } as never,
        expected: "refunded 40",
      });
      assert.deepEqual(corrected.expect.output, { contains: "refunded 40" });
    });

    test("imports an escalated run as a case that expects the escalation, and appends cases to datasets", async () => {
      const runId = await finishedRunOrSuspended("refund 300");
      const imported = await caseFromRun({ store, runId });
      assert.equal(imported.expect.status, "suspended");
      assert.deepEqual(imported.expect.governance, { refund: "escalated" });
      assert.deepEqual(imported.expect.tools, { called: ["refund"] });
      assert.equal(imported.category, "escalation");
      const directory = await mkdtemp(join(tmpdir(), "keel-append-"));
      const yaml = join(directory, "golden.yaml");
      await writeFile(yaml, "# kept comment\ndataset: golden\ncases:\n  - { id: a, input: hi }\n");
      await appendCase(yaml, imported);
      await assert.rejects(appendCase(yaml, imported), /already has a case/);
      assert.match(await readFile(yaml, "utf8"), /# kept comment/);
      assert.deepEqual(
        (await loadDataset(yaml)).cases.map((entry) => entry.id),
        ["a", imported.id],
      );
      const jsonl = join(directory, "feedback.jsonl");
      await appendCase(jsonl, imported);
      assert.deepEqual((await loadDataset(jsonl)).cases[0]?.expect.governance, { refund: "escalated" });
    });

    async function finishedRunOrSuspended(input: string): Promise<string> {
      return await finishedRun(input);
    }

    test("production sampling grades the sampled share of finished runs once each", async () => {
      const log = sqlEvaluationLog(store.sql);
      const since = new Date();
      const runIds = [];
      for (let i = 0; i < 12; i++) runIds.push(await finishedRun(`refund ${10 + i}`));
      const graders = [governanceGrader("allowed"), boundsGrader({ maxSteps: 1 })];
      const sampler = createProductionSampler({
        store,
        log,
        since,
        plan: (agent) => (agent === "refunder" ? { rate: 0.5, graders } : null),
      });
      const graded = await sampler.tick();
      const expected = runIds.filter((id) => isSampled(id, 0.5));
      assert.equal(graded, expected.length);
      assert.ok(graded > 0 && graded < 12, `${graded} of 12 sampled`);
      assert.equal(await sampler.tick(), 0, "nothing is graded twice");
      const events = await log.list({ agent: "refunder", type: "evaluation" });
      assert.deepEqual(events.map((event) => event.runId).sort(), [...expected].sort());
      const first = events[0]?.payload as RunAnnotationPayload<"evaluation">;
      assert.equal(first.source, "production-sample");
      assert.equal(first.passed, false, "two steps exceed the bound of one");
      assert.equal(first.score, 0.5);
      assert.ok(isSampled("x", 1) && !isSampled("x", 0));
    });
  });
}

test("redaction removes emails, secrets, card and phone numbers but keeps order numbers", () => {
  assert.equal(
    redactText(
      "order 1042, mail ada@example.com, card 4111 1111 1111 1111, call +1 555 014 2222, key sk-abcdefghijklmnop1234",
    ),
    "order 1042, mail [email], card [card-number], call [phone], key [secret]",
  );
  assert.equal(EvalCase.parse({ id: "x", input: "y" }).category, "general");
});
